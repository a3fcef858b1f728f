import { CliError } from '../io/CliError.ts';
import { progress } from '../io/progress.ts';

/** How long a command waits for the ledger by default (`CAREKEY_WAIT_SECONDS` overrides). */
export const DEFAULT_WAIT_SECONDS = 120;

/**
 * Polls `check` until it returns a value (every 250 ms, then up to every 2 s), with progress on stderr. Gives up
 * after `CAREKEY_WAIT_SECONDS` (default {@link DEFAULT_WAIT_SECONDS}) with a one-line error; what was done so far
 * stays done (the node keeps relaying).
 *
 * @throws {CliError} timed out; whatever `check` throws.
 */
export async function waitFor<value>(what: string, check: () => Promise<value | undefined>): Promise<value> {
  const seconds = Number(process.env.CAREKEY_WAIT_SECONDS ?? DEFAULT_WAIT_SECONDS);
  const limit =
    Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_WAIT_SECONDS) * 1000;
  let delay = 250;
  progress(`waiting for ${what}…`);
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > limit) {
      throw new CliError(`gave up waiting for ${what}`, {
        hint: 'the node keeps relaying it; check again later (or pass --no-wait)',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 2000);
  }
}
