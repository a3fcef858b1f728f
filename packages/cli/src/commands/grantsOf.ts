import type { GrantRow } from '@carekey/sdk/client';
import { type Hex, isAddressEqual } from 'viem';
import { CliError } from '../io/CliError.ts';
import type { Session } from './openSession.ts';

/** Grants where I am the grantee, as the node lists them. */
export async function grantsToMe(session: Session): Promise<GrantRow[]> {
  const { grants } = await session.node.listGrants();
  return grants.filter((g) => isAddressEqual(g.grantee, session.keys.address));
}

/** The grant to read a shared record under: the one active grant to me that lists it (or the only active one). */
export async function findGrantFor(session: Session, recordId: Hex): Promise<Hex> {
  const mine = await grantsToMe(session);
  const active = mine.filter((g) => g.state === 'active');
  const listing = active.filter(
    (g) =>
      Array.isArray(g.recordIds) && (g.recordIds as string[]).some((id) => id.toLowerCase() === recordId),
  );
  const chosen = listing[0] ?? (active.length === 1 ? active[0] : undefined);
  if (chosen === undefined) {
    const lapsed = mine.find(
      (g) =>
        Array.isArray(g.recordIds) && (g.recordIds as string[]).some((id) => id.toLowerCase() === recordId),
    );
    if (lapsed !== undefined) throw new CliError(refusalInPlainWords(lapsed));
    throw new CliError(`no active grant to you covers record ${recordId}`, {
      hint: 'ask the patient to share it (`carekey share`), or name the grant with --grant',
    });
  }
  return chosen.grantId;
}

/** Why a grant no longer opens anything, in plain words. */
export function refusalInPlainWords(grant: GrantRow): string {
  if (grant.state === 'revoked')
    return `the patient revoked grant ${grant.grantId}: it no longer gives access`;
  if (grant.state === 'expired') {
    return `grant ${grant.grantId} expired${grant.expiresAt ? ` at ${new Date(Number(grant.expiresAt) * 1000).toISOString()}` : ''}: it no longer gives access`;
  }
  if (grant.state === 'pending')
    return `grant ${grant.grantId} is not yet confirmed on the ledger; try again shortly`;
  return `grant ${grant.grantId} is ${grant.state}: it gives no access`;
}
