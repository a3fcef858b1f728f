/**
 * Progress of long work, on stderr so stdout stays the result (and `--json` stays parseable). Shown on a terminal,
 * or when `CAREKEY_PROGRESS=1`; silent otherwise, so a failing command still prints exactly one error line.
 */
export function progress(message: string): void {
  if (process.stderr.isTTY || process.env.CAREKEY_PROGRESS === '1') process.stderr.write(`${message}\n`);
}
