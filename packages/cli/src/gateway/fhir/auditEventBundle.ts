import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import type { Session } from '../../commands/openSession.ts';
import { openGatewayStore } from '../store/openGatewayStore.ts';
import { type NodeAccessEntry, nodeEntryToAuditEvent } from './accessLogToAuditEvent.ts';

/** Every entry of the node's access log of the session's records (`GET /v1/audit`, all pages, oldest first). */
export async function nodeAccessEntries(session: Session, pageLimit = 20): Promise<NodeAccessEntry[]> {
  const out: NodeAccessEntry[] = [];
  let after: string | null = null;
  for (let page = 0; page < pageLimit; page++) {
    const query: string = `?limit=500${after === null ? '' : `&after=${after}`}`;
    const answer = (await session.node.audit(query)) as unknown as {
      entries: NodeAccessEntry[];
      next?: string | null;
    };
    out.push(...answer.entries);
    if (answer.next === null || answer.next === undefined) break;
    after = answer.next;
  }
  return out;
}

/**
 * The patient's access log as a FHIR R4 `Bundle` (type collection) of BALP-style `AuditEvent`s, for other systems
 * (`carekey audit --fhir`, R-10). The Patient reference is used when the gateway store holds the Patient resource.
 */
export async function auditEventBundle(session: Session): Promise<Bundle<AuditEvent>> {
  const { chainId } = await session.node.describe();
  const store = await openGatewayStore(session);
  const patientId = store.search({ patient: session.keys.address, resourceType: 'Patient' })[0]?.fhirId;
  const entries = await nodeAccessEntries(session);
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: new Date().toISOString(),
    entry: entries.map((entry) => ({
      fullUrl: `urn:uuid:${crypto.randomUUID()}`,
      resource: nodeEntryToAuditEvent({
        entry,
        chainId,
        patient: session.keys.address,
        patientId,
        node: session.node.url,
      }),
    })),
  };
}
