import {
  buildRecordIdTree,
  getMerkleProof,
  hashRecordIdLeaf,
  ScopeKind,
  verifyMerkleProof,
} from '@carekey/sdk/chain';
import type { Hex } from 'viem';
import type { ChainGrant } from './VaultChain.ts';

const ZERO_TAG: Hex = `0x${'00'.repeat(32)}`;

export type GrantCoversParameters = {
  grant: Pick<ChainGrant, 'scopeKind' | 'scopeData'>;
  /**
   * For a `Records` scope: the record ids stored under its root (`scope_records`), from which each record's
   * inclusion proof is rebuilt and checked against the root on chain. Ignored for other scopes.
   */
  scopeRecordIds?: readonly Hex[] | undefined;
};

/** Whether the grant covers one record, given its id and category tag. */
export type GrantCoversReturnType = (record: { recordId: Hex; categoryTag: Hex }) => boolean;

/**
 * The scope check of the vault, mirroring `ConsentRegistry.covers` (fail closed):
 * - `All` covers every record of the grant's patient;
 * - `Categories` covers a record whose tag is one of the scope's tags — an untagged record (tag zero) is never
 *   covered, and neither is a zero tag in a scope;
 * - `Records` covers a record whose id is proven (OZ sorted-pair Merkle proof) under the scope root.
 * Activity (revocation, expiry) and the patient are checked by the caller.
 *
 * @example
 * const covers = grantCovers({ grant, scopeRecordIds });
 * if (!covers({ recordId, categoryTag })) refuse('not-covered');
 */
export function grantCovers(parameters: GrantCoversParameters): GrantCoversReturnType {
  const { grant } = parameters;
  if (grant.scopeKind === ScopeKind.All) return () => true;
  if (grant.scopeKind === ScopeKind.Categories) {
    const tags = new Set(grant.scopeData.map((t) => t.toLowerCase()).filter((t) => t !== ZERO_TAG));
    return ({ categoryTag }) => {
      const tag = categoryTag.toLowerCase();
      return tag !== ZERO_TAG && tags.has(tag);
    };
  }
  if (grant.scopeKind !== ScopeKind.Records) return () => false;
  const root = grant.scopeData[0];
  const ids = parameters.scopeRecordIds ?? [];
  if (root === undefined || grant.scopeData.length !== 1 || ids.length === 0) return () => false;
  let tree: ReturnType<typeof buildRecordIdTree>;
  try {
    tree = buildRecordIdTree(ids);
  } catch {
    return () => false;
  }
  const members = new Set(ids.map((id) => id.toLowerCase()));
  return ({ recordId }) => {
    if (!members.has(recordId.toLowerCase())) return false;
    const leaf = hashRecordIdLeaf(recordId);
    return verifyMerkleProof({ root, leaf, proof: getMerkleProof(tree, leaf) });
  };
}
