import { describe, expect, it } from 'vitest';
import { RecoveryError } from '../errors/recovery.ts';
import { checkGuardianSet, MAX_GUARDIANS } from './checkGuardians.ts';

const address = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as `0x${string}`;
const ME = address(1);

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RecoveryError);
    return (error as RecoveryError).reason;
  }
  throw new Error('not refused');
}

// guardianRecipients runs against a real node: packages/cli/test/recovery.test.ts and packages/web/e2e/guardians.spec.ts.
describe('checkGuardianSet (the CLI and the portal)', () => {
  it('T-17: refuses a set that could not protect the patient, naming why', () => {
    const check = (guardians: `0x${string}`[], threshold: number) =>
      refusal(() => checkGuardianSet({ guardians, self: ME, threshold }));
    expect(check([address(2), address(2).toUpperCase().replace('0X', '0x') as `0x${string}`], 2)).toBe(
      'duplicate-guardian',
    );
    expect(check([address(2), ME], 2)).toBe('self-guardian');
    expect(check([address(2)], 2)).toBe('too-few-guardians');
    expect(check([], 2)).toBe('too-few-guardians');
    const many = Array.from({ length: MAX_GUARDIANS + 1 }, (_, i) => address(i + 2));
    expect(check(many, 2)).toBe('too-many-guardians');
    expect(check([address(2), address(3)], 1)).toBe('invalid-threshold');
    expect(check([address(2), address(3)], 3)).toBe('invalid-threshold');
    expect(check([address(2), address(3)], 1.5)).toBe('invalid-threshold');
    // The CLI's one-line messages, unchanged.
    expect(() => checkGuardianSet({ guardians: [address(2), address(3)], self: ME, threshold: 3 })).toThrow(
      /^threshold must be 2 to 2, got 3/u,
    );
  });

  it('accepts 2 of 2 up to n of n', () => {
    for (const k of [2, 3])
      checkGuardianSet({ guardians: [address(2), address(3), address(4)], self: ME, threshold: k });
  });
});
