import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { CliError } from '../io/CliError.ts';
import { recordText } from './get.ts';

// What `carekey get <record>` (no -o) prints on a terminal: a FHIR record pretty-printed with every terminal control
// escaped; a file record (the real NEMA CT slice and Chromium PDF of the test data) refused with the -o hint.
const FILES = join(import.meta.dirname, '../../../sdk/src/fhir/testdata/files');
const ID = `0x${'ab'.repeat(32)}` as Hex;
const encode = (text: string) => new TextEncoder().encode(text);

describe('carekey get on a terminal', () => {
  it('T-22: a FHIR record is pretty-printed JSON, the same value, with no raw terminal control', () => {
    const hostile = 'Potassium\u001b[2J\u001b]52;c;Y3VybA==\u0007\u009b31m\u202egnp.exe\u007f';
    const resource = {
      resourceType: 'Observation',
      id: 'k',
      code: { text: hostile },
      valueQuantity: { value: 4 },
    };
    const text = recordText(ID, encode(JSON.stringify(resource)));
    expect(text).toBe(
      [
        '{',
        '  "resourceType": "Observation",',
        '  "id": "k",',
        '  "code": {',
        '    "text": "Potassium\\u001b[2J\\u001b]52;c;Y3VybA==\\u0007\\u009b31m\\u202egnp.exe\\u007f"',
        '  },',
        '  "valueQuantity": {',
        '    "value": 4',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    expect(JSON.parse(text)).toEqual(resource);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/u);
  });

  it('T-19: a `__proto__` key is printed as data, not taken as a prototype', () => {
    const text = recordText(ID, encode('{"resourceType":"Basic","__proto__":{"polluted":true}}'));
    expect(text).toContain('  "__proto__": {\n    "polluted": true\n  }');
    expect(Object.hasOwn(JSON.parse(text) as object, '__proto__')).toBe(true);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it.each([
    ['CT_small.dcm', /^record 0x(ab){32} is a DICOM file \(39206 bytes\), not shown on the terminal/u],
    ['discharge-letter.pdf', /^record 0x(ab){32} is a PDF file \(28422 bytes\), not shown on the terminal/u],
  ])('a file record (%s) is refused with the hint to use -o', (name, message) => {
    const bytes = new Uint8Array(readFileSync(join(FILES, name)));
    expect(() => recordText(ID, bytes)).toThrow(CliError);
    expect(() => recordText(ID, bytes)).toThrow(message);
    expect(() => recordText(ID, bytes)).toThrow(`carekey get ${ID} -o <file>`);
  });

  it('other bytes, and a record starting like JSON that is not, are refused in one line', () => {
    expect(() => recordText(ID, new Uint8Array([0, 1, 2, 0x1b]))).toThrow(/is a file \(4 bytes\)/u);
    expect(() => recordText(ID, encode('{"resourceType": '))).toThrow(/does not hold valid JSON/u);
    expect(() => recordText(ID, new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(/does not hold valid JSON/u);
  });
});
