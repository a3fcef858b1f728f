import type { Address, Hex } from 'viem';
import type { Session } from './openSession.ts';

/** Records shared with me, grouped by grant, as `ls --shared-with-me` shows them. */
export type SharedWithMe = { grantId: Hex; patient: Address; recordIds: Hex[] };

/** Records covered by active grants to me (`GET /v1/shared`), grouped by grant. */
export async function listShared(session: Session): Promise<SharedWithMe[]> {
  const { records } = await session.node.listShared();
  const byGrant = new Map<string, SharedWithMe>();
  for (const r of records) {
    const entry = byGrant.get(r.grantId) ?? { grantId: r.grantId, patient: r.patient, recordIds: [] };
    entry.recordIds.push(r.recordId);
    byGrant.set(r.grantId, entry);
  }
  return [...byGrant.values()];
}
