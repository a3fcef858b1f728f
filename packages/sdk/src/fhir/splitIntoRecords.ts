import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { getDefaultCryptoBackend } from '../crypto/backend.ts';
import { canonicalJson, sha256HexAsync } from './canonicalJson.ts';
import { clinicalDate } from './clinicalDate.ts';
import { recordCategory } from './recordCategory.ts';
import { type ValidateFhirParameters, type ValidateFhirReturnType, validateFhir } from './validateFhir.ts';

/** One FHIR resource ready to be encrypted and published as a Carekey record. */
export type FhirRecord = {
  /** The resource, references to other entries rewritten to `ResourceType/id`, with an id. */
  resource: Resource;
  resourceType: string;
  id: string;
  /** `resourceType` or `resourceType|<first category code>` (see `recordCategory`). */
  category: string;
  /** The best clinical date as written in the resource (see `clinicalDate`). */
  clinicalDate?: string;
  /** RFC 8785 canonical JSON of `resource`: the bytes that are encrypted and hashed. */
  canonicalJson: string;
  /** Lowercase hex SHA-256 of the UTF-8 bytes of `canonicalJson`. */
  sha256: string;
};

export type SplitIntoRecordsParameters = ValidateFhirParameters & {
  /**
   * Who publishes the records: set as `meta.source` of every resource (after validation, before hashing) — the
   * custodian's DID, e.g. `did:ethr:0x7a69:0xAb…`. A `meta.source` already there (the system the data came from)
   * is kept as the `ORIGINAL_SOURCE_EXTENSION` extension of `meta`. See docs/fhir.md, "Custodian and provenance".
   */
  custodian?: string;
};

/** Extension of `Resource.meta` keeping the `meta.source` a resource had before Carekey set its custodian. */
export const ORIGINAL_SOURCE_EXTENSION = 'https://carekey.dev/fhir/StructureDefinition/original-source';

export type SplitIntoRecordsReturnType = {
  /** One record per resource, in input order (a Bundle's entries, a document's Composition first). */
  records: FhirRecord[];
  /** The validator's warnings, if any. */
  outcome: OperationOutcome;
};

/**
 * Validates FHIR R4 (a resource or a transaction, batch, collection, document or searchset Bundle) and
 * splits it into one record per resource. The whole input is validated first: on any fault nothing is
 * returned. References between entries (`urn:uuid:` fullUrls, as Synthea writes them) are rewritten to
 * `ResourceType/id` so they still resolve once each resource is stored on its own.
 *
 * @throws {FhirParseError} unsafe or malformed JSON (T-19).
 * @throws {FhirValidationError} invalid FHIR R4, with an `OperationOutcome` naming each fault.
 * @example
 * const { records } = await splitIntoRecords({ input: await readFile('bundle.json') });
 */
export async function splitIntoRecords(
  parameters: SplitIntoRecordsParameters,
): Promise<SplitIntoRecordsReturnType> {
  return toRecords(await validateFhir(parameters), parameters.custodian);
}

/** Sets `meta.source` to the custodian, keeping a different earlier source in an extension of `meta`. */
export function stampCustodian(resource: Resource, custodian: string): void {
  resource.meta ??= {};
  const meta = resource.meta;
  if (meta.source !== undefined && meta.source !== custodian) {
    meta.extension = [...(meta.extension ?? []), { url: ORIGINAL_SOURCE_EXTENSION, valueUri: meta.source }];
  }
  meta.source = custodian;
}

/**
 * SHA-256 of the text's UTF-8: the crypto backend's when it has one (OpenSSL in Node, synchronous: ≈ 10× less than
 * a WebCrypto digest per 4 kB record, whose promise round trip dominates), else WebCrypto's, one at a time
 * (measured faster than queueing them all at once).
 */
function sha256Of(json: string): string | Promise<string> {
  const native = getDefaultCryptoBackend().hashes;
  return native ? bytesToHex(native.sha256(utf8ToBytes(json))) : sha256HexAsync(json);
}

/** Turns validated resources into records (canonical JSON, hash, category, date). */
export async function toRecords(
  validated: ValidateFhirReturnType,
  custodian?: string,
): Promise<SplitIntoRecordsReturnType> {
  const records: FhirRecord[] = [];
  for (const { resource } of validated.resources) {
    if (custodian !== undefined) stampCustodian(resource, custodian);
    const json = canonicalJson(resource);
    const record: FhirRecord = {
      resource,
      resourceType: resource.resourceType,
      id: resource.id,
      category: recordCategory(resource),
      canonicalJson: json,
      sha256: await sha256Of(json),
    };
    const date = clinicalDate(resource);
    if (date !== undefined) record.clinicalDate = date;
    records.push(record);
  }
  return { records, outcome: validated.outcome };
}
