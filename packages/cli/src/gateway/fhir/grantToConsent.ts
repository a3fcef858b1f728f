import type { GrantRow } from '@carekey/sdk/client';
import type { Consent, ConsentProvision, Reference } from '@medplum/fhirtypes';
import { type Address, type Hex, hexToString } from 'viem';

/** Identifier system of Carekey grant ids (the ConsentRegistry's bytes32). */
export const GRANT_ID_SYSTEM = 'https://carekey.dev/fhir/NamingSystem/grant-id';
/** Identifier system of Carekey record ids. */
export const RECORD_ID_SYSTEM = 'https://carekey.dev/fhir/NamingSystem/record-id';
/** DIDs as identifiers (RFC 3986 URIs). */
export const URI_SYSTEM = 'urn:ietf:rfc:3986';

/** `did:ethr:<chain id>:<address>` of an identity. */
export function didOf(chainId: number, address: Address): string {
  return `did:ethr:0x${chainId.toString(16)}:${address}`;
}

/** A 32-byte id as a FHIR id (64 hex characters: FHIR ids are at most 64 characters, so without `0x`). */
export function fhirIdOf(id: Hex): string {
  return id.slice(2).toLowerCase();
}

export type GrantToConsentParameters = {
  grant: GrantRow;
  chainId: number;
  /** The FHIR Patient id of the grant's patient, when this gateway holds the Patient resource. */
  patientId?: string | undefined;
  /** Categories (`Observation|laboratory`) the grant's scope covers, when this gateway can name them. */
  categories?: readonly string[] | undefined;
  /** Records the grant covers that this gateway holds (`Type/id`), for a Records scope. */
  records?: readonly string[] | undefined;
};

// biome-ignore lint/suspicious/noExplicitAny: a DID identifier reference fits every Reference target
const identity = (chainId: number, address: Address): Reference<any> => ({
  identifier: { system: URI_SYSTEM, value: didOf(chainId, address) },
  display: address,
});

/**
 * A Carekey grant as an R4 `Consent` (https://hl7.org/fhir/R4/consent.html), scope `patient-privacy`: the patient
 * permits the grantee (`provision.actor`, role IRCP information recipient) to read, for the grant's purpose of use
 * (`provision.purpose`, HL7 v3 ActReason), during `provision.period` (chain time), the data it covers
 * (`provision.class` by resource type, `provision.code` by category code, `provision.data` by record). A revoked
 * or expired grant is `inactive`.
 */
export function grantToConsent(parameters: GrantToConsentParameters): Consent {
  const { grant, chainId } = parameters;
  const row = grant as GrantRow & { createdAt?: unknown; purpose?: unknown; scopeKind?: unknown };
  const createdAt = Number(row.createdAt ?? 0);
  const purpose =
    typeof row.purpose === 'string' && /^0x[0-9a-f]{64}$/iu.test(row.purpose)
      ? hexToString(row.purpose as Hex, { size: 32 }).replace(/\0+$/u, '')
      : undefined;
  const provision: ConsentProvision = {
    type: 'permit',
    period: {
      ...(createdAt > 0 ? { start: new Date(createdAt * 1000).toISOString() } : {}),
      end: new Date(Number(grant.expiresAt) * 1000).toISOString(),
    },
    actor: [
      {
        role: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
              code: 'IRCP',
              display: 'information recipient',
            },
          ],
        },
        reference: identity(chainId, grant.grantee),
      },
    ],
    action: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/consentaction',
            code: 'access',
            display: 'Access',
          },
        ],
      },
    ],
    ...(purpose === undefined || purpose.length === 0
      ? {}
      : { purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: purpose }] }),
  };
  const categories = [...new Set(parameters.categories ?? [])].sort();
  if (row.scopeKind === 1 && categories.length > 0) {
    provision.class = [...new Set(categories.map((c) => c.split('|')[0] as string))].map((type) => ({
      system: 'http://hl7.org/fhir/resource-types',
      code: type,
    }));
    const codes = categories.filter((c) => c.includes('|')).map((c) => c.split('|')[1] as string);
    if (codes.length > 0) provision.code = codes.map((code) => ({ coding: [{ code }], text: code }));
  }
  if (row.scopeKind === 2 && parameters.records !== undefined && parameters.records.length > 0) {
    provision.data = parameters.records.map((reference) => ({
      meaning: 'instance',
      reference: { reference },
    }));
  }
  const scopeText =
    row.scopeKind === 0 ? 'all records' : row.scopeKind === 1 ? 'categories' : 'listed records';
  return {
    resourceType: 'Consent',
    id: fhirIdOf(grant.grantId),
    identifier: [{ system: GRANT_ID_SYSTEM, value: grant.grantId }],
    status: grant.state === 'active' ? 'active' : 'inactive',
    scope: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/consentscope',
          code: 'patient-privacy',
          display: 'Privacy Consent',
        },
      ],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient:
      parameters.patientId === undefined
        ? identity(chainId, grant.patient)
        : { reference: `Patient/${parameters.patientId}`, display: grant.patient },
    ...(createdAt > 0 ? { dateTime: new Date(createdAt * 1000).toISOString() } : {}),
    performer: [identity(chainId, grant.patient)],
    policyRule: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN', display: 'opt-in' },
      ],
      text: `Carekey grant (${scopeText}, ${grant.state}), recorded on the ConsentRegistry`,
    },
    provision,
  };
}
