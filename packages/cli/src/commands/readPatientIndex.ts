import { buildPatientIndex, type PatientIndex, type SourcedResource } from '@carekey/sdk/clinical';
import { parseIdentityRef } from '@carekey/sdk/identity';
import type { Address } from 'viem';
import { openGatewayStore } from '../gateway/store/openGatewayStore.ts';
import { progress } from '../io/progress.ts';
import { openSession, type Session } from './openSession.ts';

export type ReadPatientIndexParameters = {
  /** Whose index (an address or DID; default the wallet's own identity, the patient). */
  patient?: string | undefined;
  /** Do not contact the node: use what the gateway store holds. */
  offline?: boolean | undefined;
  /** An open session to use (default: open the wallet). */
  session?: Session | undefined;
};

export type ReadPatientIndexReturnType = {
  session: Session;
  patient: Address;
  index: PatientIndex;
  /** Whether the store was synced with the node first (false: offline, or the node was unreachable). */
  synced: boolean;
};

/**
 * Reads the patient index from the gateway store (docs/gateway.md "Local store"): syncs it with the node first
 * (the identity's own records and those shared with it; skipped with `offline` or when the node is unreachable),
 * then builds the index (`buildPatientIndex`) from the patient's decrypted records. Each record's source is its
 * custodian (`meta.source`, else the publisher's address; "you" for the patient's own imports) and record id.
 */
export async function readPatientIndex(
  parameters: ReadPatientIndexParameters,
): Promise<ReadPatientIndexReturnType> {
  if (parameters.patient !== undefined) parseIdentityRef(parameters.patient); // malformed: fail before the passphrase
  const session = parameters.session ?? (await openSession());
  const patient =
    parameters.patient === undefined ? session.keys.address : parseIdentityRef(parameters.patient);
  const store = await openGatewayStore(session);
  let synced = false;
  if (!parameters.offline) {
    const { NodeUnreachableError } = await import('@carekey/sdk/client');
    try {
      progress('syncing with the node');
      await store.sync(session, { onProgress: progress });
      synced = true;
    } catch (error) {
      if (!(error instanceof NodeUnreachableError)) throw error;
      progress('the node is unreachable: using the records this gateway already holds');
    }
  }
  const own = session.keys.address.toLowerCase();
  const records: SourcedResource[] = store.search({ patient }).map((r) => {
    const custodian = r.custodian ?? 'unknown institution';
    return {
      resource: r.resource,
      source: {
        custodian,
        recordId: r.recordId,
        ...(addressIn(custodian) === own ? { custodianName: 'you' } : {}),
      },
    };
  });
  progress(`indexing ${records.length} records`);
  return { session, patient, index: buildPatientIndex({ records }), synced };
}

/** The lower-case address of a custodian written as an address or a `did:ethr` DID, else the text itself. */
function addressIn(custodian: string): string {
  return (/(?:^|:)(0x[0-9a-fA-F]{40})$/u.exec(custodian)?.[1] ?? custodian).toLowerCase();
}

/** Sources as one short text: `0x12ab…cdef, you` (addresses and `did:ethr` DIDs shortened). */
export function sourcesLabel(sources: readonly { custodian: string; custodianName?: string }[]): string {
  const label = (s: { custodian: string; custodianName?: string }) => {
    if (s.custodianName !== undefined) return s.custodianName;
    const address = /(?:^|:)(0x[0-9a-fA-F]{40})$/u.exec(s.custodian)?.[1];
    return address === undefined ? s.custodian : `${address.slice(0, 6)}…${address.slice(-4)}`;
  };
  return [...new Set(sources.map(label))].join(', ');
}
