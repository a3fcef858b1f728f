import { getSearchParameters } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';

/** Resource types the gateway always describes (what patient records hold, plus Consent and AuditEvent). */
export const DESCRIBED_TYPES = [
  'AllergyIntolerance',
  'AuditEvent',
  'CarePlan',
  'CareTeam',
  'Claim',
  'Condition',
  'Consent',
  'Device',
  'DiagnosticReport',
  'DocumentReference',
  'Encounter',
  'ExplanationOfBenefit',
  'Goal',
  'ImagingStudy',
  'Immunization',
  'Location',
  'Medication',
  'MedicationAdministration',
  'MedicationRequest',
  'MedicationStatement',
  'Observation',
  'Organization',
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Procedure',
  'Provenance',
  'ServiceRequest',
] as const;

/**
 * The gateway's R4 CapabilityStatement (`GET /metadata`): read and search-type on each described type with its R4
 * search parameters, `Patient/$everything`, Bulk Data `$export` (system and Patient level), JSON only, and the
 * security model (SMART v2 scopes on bearer tokens issued by `carekey gateway token`).
 */
export function capabilityStatement(parameters: {
  baseUrl: string;
  types: readonly string[];
}): CapabilityStatement {
  const types = [...new Set([...DESCRIBED_TYPES, ...parameters.types])].sort();
  const resource: CapabilityStatementRestResource[] = types.map(
    (type): CapabilityStatementRestResource => ({
      type: type as CapabilityStatementRestResource['type'],
      interaction: [{ code: 'read' as const }, { code: 'search-type' as const }],
      versioning: 'no-version',
      readHistory: false,
      updateCreate: false,
      searchParam: Object.values(getSearchParameters(type) ?? {})
        .filter((p) => p.code !== undefined && p.type !== 'composite' && p.type !== 'special')
        .map((p) => ({
          name: p.code as string,
          type: p.type as NonNullable<CapabilityStatementRestResource['searchParam']>[number]['type'],
          ...(p.url === undefined ? {} : { definition: p.url }),
        })),
      ...(type === 'Patient'
        ? {
            operation: [
              {
                name: 'everything',
                definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
              },
              {
                name: 'export',
                definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
              },
            ],
          }
        : {}),
    }),
  );
  return {
    resourceType: 'CapabilityStatement',
    id: 'carekey-gateway',
    status: 'active',
    date: new Date().toISOString(),
    publisher: 'Carekey',
    kind: 'instance',
    software: { name: 'Carekey gateway' },
    implementation: {
      description: 'Carekey gateway: decrypted records, served on loopback',
      url: parameters.baseUrl,
    },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Read-only. Answers only what the gateway identity may read (its own records and those shared with it by grants), narrowed by the SMART scopes of the bearer token. Search is strict: unknown parameters are refused.',
        security: {
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'SMART-on-FHIR',
                },
              ],
            },
          ],
          description:
            'Bearer tokens (HS256 JWT) issued by `carekey gateway token --scope "<SMART v2 scopes>" [--patient <id>]`; patient/, user/ and system/ scopes with r and s permissions.',
        },
        resource,
        operation: [
          { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' },
        ],
      },
    ],
  };
}
