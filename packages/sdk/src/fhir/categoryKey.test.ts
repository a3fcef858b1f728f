import { describe, expect, it } from 'vitest';
import { categoryKey } from './categoryKey.ts';

describe('categoryKey', () => {
  it('is pinned: every gateway (CLI, portal) and every restored wallet derives the same key', () => {
    // Fixed vector: changing the derivation would orphan every category grant already made.
    expect(Buffer.from(categoryKey(`0x${'11'.repeat(32)}`)).toString('hex')).toBe(
      '4b8ffdd1b998f2007e95e42ecde09df8ae6a35bd314cf8b0c42f95abe8a38c12',
    );
    expect(categoryKey(`0x${'12'.repeat(32)}`)).not.toEqual(categoryKey(`0x${'11'.repeat(32)}`));
  });
});
