import type { AuditEvent, AuditEventEntity } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { didOf, fhirIdOf, GRANT_ID_SYSTEM, RECORD_ID_SYSTEM, URI_SYSTEM } from './grantToConsent.ts';

/** One row of the node's access log (`GET /v1/audit`). */
export type NodeAccessEntry = {
  id: string;
  at: string;
  actor: string;
  action: string;
  recordIds: string[];
  grantId: string | null;
  outcome: string;
  reason: string | null;
};

/** One request the gateway answered (its own log, `CAREKEY_HOME/gateway/access.log`). */
export type GatewayAccessEntry = {
  id: string;
  at: string;
  /** The app (token subject), or `anonymous` when no valid token was shown. */
  client: string;
  /** FHIR interaction: read, search-type, operation, or `login` for a refused token. */
  interaction: string;
  /** Method and path (no query string: search values can be identifying). */
  request: string;
  status: number;
  reason?: string | undefined;
};

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const REST = {
  system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  code: 'rest',
  display: 'RESTful Operation',
};
const INTERACTION = 'http://hl7.org/fhir/restful-interaction';

/** Node log actions as FHIR interactions and AuditEvent actions (C create, R read, U update, D delete, E execute). */
const ACTIONS: Record<
  string,
  { subtype: string; action: NonNullable<AuditEvent['action']>; display: string }
> = {
  release: { subtype: 'read', action: 'R', display: 'key release' },
  refusal: { subtype: 'read', action: 'R', display: 'key release refused' },
  publish: { subtype: 'create', action: 'C', display: 'records published' },
  grant: { subtype: 'create', action: 'C', display: 'grant recorded' },
  revoke: { subtype: 'update', action: 'U', display: 'grant revoked' },
  shred_request: { subtype: 'delete', action: 'D', display: 'shred requested' },
  shred_cancel: { subtype: 'update', action: 'U', display: 'shred cancelled' },
  shred: { subtype: 'delete', action: 'D', display: 'record shredded' },
};

/** BALP outcome codes: 0 success, 4 minor failure (refused), 8 serious failure. */
function outcomeCode(outcome: string): NonNullable<AuditEvent['outcome']> {
  return outcome === 'allowed' ? '0' : outcome === 'denied' ? '4' : '8';
}

const patientEntity = (chainId: number, patient: Address, patientId?: string): AuditEventEntity => ({
  what:
    patientId === undefined
      ? { identifier: { system: URI_SYSTEM, value: didOf(chainId, patient) } }
      : { reference: `Patient/${patientId}` },
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
  role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
});

/**
 * A node access-log row as an R4 `AuditEvent` in the style of IHE Basic Audit Log Patterns (BALP,
 * https://profiles.ihe.net/ITI/BALP/): type `rest` with the FHIR interaction as subtype, the actor as the
 * requesting agent (its DID), the node as the source, and entities for the patient (role 1), each record (role 4
 * domain resource, by record id) and the grant (its `Consent`).
 */
export function nodeEntryToAuditEvent(parameters: {
  entry: NodeAccessEntry;
  chainId: number;
  /** The patient whose log it is (the gateway's owner). */
  patient: Address;
  patientId?: string | undefined;
  /** The node's audience (its base URL). */
  node: string;
}): AuditEvent {
  const { entry, chainId } = parameters;
  const kind = ACTIONS[entry.action] ?? { subtype: 'operation', action: 'E' as const, display: entry.action };
  const entity: AuditEventEntity[] = [patientEntity(chainId, parameters.patient, parameters.patientId)];
  for (const recordId of entry.recordIds) {
    entity.push({
      what: { identifier: { system: RECORD_ID_SYSTEM, value: recordId } },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '2',
        display: 'System Object',
      },
      role: {
        system: 'http://terminology.hl7.org/CodeSystem/object-role',
        code: '4',
        display: 'Domain Resource',
      },
    });
  }
  if (entry.grantId !== null) {
    entity.push({
      what: {
        reference: `Consent/${fhirIdOf(entry.grantId as Hex)}`,
        identifier: { system: GRANT_ID_SYSTEM, value: entry.grantId },
      },
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
        code: '2',
        display: 'System Object',
      },
      role: {
        system: 'http://terminology.hl7.org/CodeSystem/object-role',
        code: '13',
        display: 'Security Resource',
      },
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: `node-${entry.id}`,
    type: REST,
    subtype: [{ system: INTERACTION, code: kind.subtype }],
    action: kind.action,
    recorded: new Date(entry.at).toISOString(),
    outcome: outcomeCode(entry.outcome),
    outcomeDesc: entry.reason ?? `${kind.display}: ${entry.outcome}`,
    agent: [
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
              code: 'IRCP',
              display: 'information recipient',
            },
          ],
        },
        who: {
          identifier: { system: URI_SYSTEM, value: didOf(chainId, entry.actor as Address) },
          display: entry.actor,
        },
        requestor: true,
      },
      {
        type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
        who: { identifier: { system: URI_SYSTEM, value: parameters.node } },
        requestor: false,
        network: { address: parameters.node, type: '5' },
      },
    ],
    source: {
      observer: { identifier: { system: URI_SYSTEM, value: parameters.node }, display: 'Carekey node' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity,
  };
}

/** A request the gateway answered as a BALP-style `AuditEvent` (the gateway as source, the app as requestor). */
export function gatewayEntryToAuditEvent(parameters: {
  entry: GatewayAccessEntry;
  chainId: number;
  owner: Address;
  gateway: string;
}): AuditEvent {
  const { entry } = parameters;
  const success = entry.status < 400;
  return {
    resourceType: 'AuditEvent',
    id: `gateway-${entry.id}`,
    type: REST,
    subtype: [{ system: INTERACTION, code: entry.interaction === 'login' ? 'operation' : entry.interaction }],
    action: entry.interaction === 'operation' ? 'E' : 'R',
    recorded: entry.at,
    outcome: success ? '0' : entry.status >= 500 ? '8' : '4',
    outcomeDesc: `${entry.request} → ${entry.status}${entry.reason === undefined ? '' : ` (${entry.reason})`}`,
    agent: [
      {
        type: { coding: [{ system: DCM, code: '110150', display: 'Application' }] },
        who: { identifier: { value: entry.client }, display: entry.client },
        requestor: true,
      },
      {
        type: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/v3-RoleClass',
              code: 'ASSIGNED',
              display: 'assigned entity',
            },
          ],
        },
        who: { identifier: { system: URI_SYSTEM, value: didOf(parameters.chainId, parameters.owner) } },
        requestor: false,
      },
    ],
    source: {
      observer: { identifier: { system: URI_SYSTEM, value: parameters.gateway }, display: 'Carekey gateway' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity: [
      {
        what: { identifier: { value: entry.request } },
        type: {
          system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
          code: '2',
          display: 'System Object',
        },
        role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
      },
    ],
  };
}
