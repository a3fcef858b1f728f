/** Prints `value` as one JSON line when `--json` was given, else the human text. */
export function output(options: { json?: boolean }, value: unknown, text: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
}
