import { buildRecordIdTree, ScopeKind } from '@carekey/sdk/chain';
import fc from 'fast-check';
import { bytesToHex, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { grantCovers } from './grantCovers.ts';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
const ZERO: Hex = `0x${'00'.repeat(32)}`;

describe('grantCovers', () => {
  it('R-16 a category grant covers exactly the records of its categories, never an untagged one (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(bytes32, { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(bytes32, fc.nat()), { minLength: 1, maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        (categories, assignments, inScope) => {
          const scope = categories.filter((_, i) => inScope[i]);
          if (scope.length === 0) return;
          const covers = grantCovers({ grant: { scopeKind: ScopeKind.Categories, scopeData: scope } });
          for (const [recordId, pick] of assignments) {
            // Some records untagged (zero), the rest in one of the categories.
            const tag =
              pick % (categories.length + 1) === categories.length
                ? ZERO
                : (categories[pick % (categories.length + 1)] as Hex);
            expect(covers({ recordId, categoryTag: tag })).toBe(tag !== ZERO && scope.includes(tag));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('R-16 a zero tag in a scope covers nothing', () => {
    const covers = grantCovers({ grant: { scopeKind: ScopeKind.Categories, scopeData: [ZERO] } });
    expect(covers({ recordId: ZERO, categoryTag: ZERO })).toBe(false);
  });

  it('T-2 a record-id scope covers exactly the ids proven under its root (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(bytes32, { minLength: 1, maxLength: 20 }), bytes32, (ids, stranger) => {
        const root = buildRecordIdTree(ids).root;
        const covers = grantCovers({
          grant: { scopeKind: ScopeKind.Records, scopeData: [root] },
          scopeRecordIds: ids,
        });
        for (const id of ids) expect(covers({ recordId: id, categoryTag: ZERO })).toBe(true);
        expect(covers({ recordId: stranger, categoryTag: ZERO })).toBe(ids.includes(stranger));
        // Ids stored under another root prove nothing for this one.
        const forged = grantCovers({
          grant: { scopeKind: ScopeKind.Records, scopeData: [root] },
          scopeRecordIds: [...ids, stranger],
        });
        if (!ids.includes(stranger)) expect(forged({ recordId: stranger, categoryTag: ZERO })).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('an all-records scope covers tagged and untagged records', () => {
    const covers = grantCovers({ grant: { scopeKind: ScopeKind.All, scopeData: [] } });
    expect(covers({ recordId: ZERO, categoryTag: ZERO })).toBe(true);
  });
});
