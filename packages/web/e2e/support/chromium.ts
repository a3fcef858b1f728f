import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`, as .ci/run does). Playwright's own browsers are never downloaded. */
export const CHROMIUM_PATH = process.env.CAREKEY_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Flags for a quiet, reproducible headless Chromium: no sandbox (CI runs as root in a container), no GPU, no
 * QUIC, no first-run UI, no background traffic (component updates, sync), no reliance on a large /dev/shm. Playwright gives
 * every launch a fresh temporary profile (`--user-data-dir`) and removes it on `close()`.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Containers often give /dev/shm 64 MB, too little for a renderer holding a 100 MB file: use /tmp instead.
  '--disable-dev-shm-usage',
];

/**
 * Launches Debian's Chromium through `playwright-core`; `args` are added to `CHROMIUM_ARGS` (e.g. a fake camera).
 *
 * @throws {Error} with the fix when `/usr/bin/chromium` is missing.
 * @example
 * const browser = await launchChromium();
 * const page = await (await browser.newContext()).newPage();
 */
export async function launchChromium(options: { args?: readonly string[] } = {}): Promise<Browser> {
  try {
    return await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
      timeout: 60_000,
    });
  } catch (cause) {
    throw new Error(
      `cannot launch Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` (never \`npx playwright install\`)`,
      { cause },
    );
  }
}
