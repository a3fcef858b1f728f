import type { GrantRow } from '@carekey/sdk/client';
import { type Hex, isAddressEqual } from 'viem';
import { CliError } from '../io/CliError.ts';
import type { Session } from './openSession.ts';

/** Grants where I am the grantee, as the node lists them. */
export async function grantsToMe(session: Session): Promise<GrantRow[]> {
  const { grants } = await session.node.listGrants();
  return grants.filter((g) => isAddressEqual(g.grantee, session.keys.address));
}

/**
 * The grant to read a shared record under: the active grant to me that covers it (`GET /v1/shared`). When none
 * does, says why in plain words: a grant to me was revoked or expired, or nothing was ever shared.
 */
export async function findGrantFor(session: Session, recordId: Hex): Promise<Hex> {
  const { records } = await session.node.listShared();
  const covering = records.find((r) => r.recordId.toLowerCase() === recordId);
  if (covering !== undefined) return covering.grantId;
  const mine = await grantsToMe(session);
  const lapsed = mine.filter((g) => g.state !== 'active');
  const active = mine.filter((g) => g.state === 'active');
  if (active.length === 0 && lapsed.length > 0) {
    const last = lapsed[lapsed.length - 1] as GrantRow;
    // Ask the vault all the same: it decides (chain state at its head) and logs the refusal, so the patient's
    // access history shows the attempt (every refusal is logged, docs/protocol.md flow 3).
    try {
      await session.node.releaseKeys({ grantId: last.grantId, recordIds: [recordId] });
    } catch {
      throw new CliError(refusalInPlainWords(last));
    }
    return last.grantId;
  }
  throw new CliError(`no active grant to you covers record ${recordId}`, {
    hint:
      lapsed.length > 0
        ? `your grants from this patient were ${[...new Set(lapsed.map((g) => g.state))].join(' or ')}`
        : 'ask the patient to share it (`carekey share`)',
  });
}

/** Why a grant no longer opens anything, in plain words. */
export function refusalInPlainWords(grant: GrantRow): string {
  if (grant.state === 'revoked')
    return `the patient revoked grant ${grant.grantId}: it no longer gives access`;
  if (grant.state === 'expired') {
    return `grant ${grant.grantId} expired at ${new Date(Number(grant.expiresAt) * 1000).toISOString()}: it no longer gives access`;
  }
  return `grant ${grant.grantId} is ${grant.state}: it gives no access`;
}
