import { describe, expect, it } from 'vitest';
import { inertJson, inertText, output } from './output.ts';

// What a hostile record could carry in a display string: clear screen, window title, clipboard write (OSC 52),
// a C1 CSI, a right-to-left override, DEL.
const HOSTILE =
  'Potassium\u001b[2J\u001b]0;pwned\u0007\u001b]52;c;Y3VybCBldmls\u0007\u009b31m\u202egnp.exe\u007f';

function captured(run: () => void): string {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    run();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe('CLI output: record text is shown, never acted on by the terminal (T-22)', () => {
  it('shows every terminal control as \\u{…}, keeps newlines, tabs and other text', () => {
    const shown = inertText(`${HOSTILE}\n\tnext line é 中`);
    expect(shown).toBe(
      'Potassium\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{1b}]52;c;Y3VybCBldmls\\u{7}\\u{9b}31m\\u{202e}gnp.exe\\u{7f}\n\tnext line é 中',
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
    expect(shown).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/u);
  });

  it('--json escapes what JSON.stringify leaves literal (DEL, C1, bidi): the same value, no raw control', () => {
    const value = { display: HOSTILE, n: 1 };
    const json = inertJson(value);
    expect(JSON.parse(json)).toEqual(value);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
    expect(json).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/u);
  });

  it('output() applies both: the timeline line and its --json form', () => {
    const line = captured(() => output({}, {}, () => `2024-03-04  Observation  ${HOSTILE}`));
    expect(line).toContain('Potassium\\u{1b}[2J');
    expect(line.endsWith('\n')).toBe(true);
    const json = captured(() => output({ json: true }, { display: HOSTILE }, () => ''));
    expect(JSON.parse(json)).toEqual({ display: HOSTILE });
    expect(json).not.toContain('\u009b');
  });
});
