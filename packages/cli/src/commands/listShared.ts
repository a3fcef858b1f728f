import type { Address, Hex } from 'viem';
import { grantsToMe } from './grantsOf.ts';
import type { Session } from './openSession.ts';

/** One grant to me, as `ls --shared-with-me` shows it. */
export type SharedWithMe = {
  grantId: Hex;
  patient: Address;
  state: string;
  purpose: string | undefined;
  expiresAt: string;
  recordIds: Hex[];
};

/** Grants to me with the records each lets me read (from the node). */
export async function listShared(session: Session): Promise<SharedWithMe[]> {
  return (await grantsToMe(session)).map((g) => ({
    grantId: g.grantId,
    patient: g.patient,
    state: g.state,
    purpose: typeof g.purpose === 'string' ? g.purpose : undefined,
    expiresAt: g.expiresAt,
    recordIds: Array.isArray(g.recordIds) ? (g.recordIds as Hex[]) : [],
  }));
}
