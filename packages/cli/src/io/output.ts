/**
 * Characters a terminal acts on rather than shows: C0 controls but newline and tab, DEL, C1 controls, and Unicode
 * bidirectional controls. Text from records (a provider's display string, a narrative) is data: it must not move
 * the cursor, clear the screen, set the window title or the clipboard (OSC 52), or reorder what is shown.
 */
const TERMINAL_CONTROLS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** `text` with every terminal control shown as `\u{…}` (newlines and tabs kept): safe to print. */
export function inertText(text: string): string {
  return text.replace(TERMINAL_CONTROLS, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}

/**
 * `JSON.stringify(value, null, indent)` with the controls JSON leaves literal (DEL, C1, bidi) escaped as `\uXXXX`:
 * the same value, nothing a terminal acts on.
 */
export function inertJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    TERMINAL_CONTROLS,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Prints `value` as one JSON line when `--json` was given, else the human text; either way no terminal control
 * from a record reaches the terminal (T-22's terminal twin: `inertText`).
 */
export function output(options: { json?: boolean }, value: unknown, text: () => string): void {
  process.stdout.write(options.json ? `${inertJson(value)}\n` : `${inertText(text())}\n`);
}
