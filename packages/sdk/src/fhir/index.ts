/**
 * `@carekey/sdk/fhir` — client-side FHIR R4 ingestion: safe parsing (T-19), validation (Medplum), splitting
 * into records, canonical JSON and category tags. Isomorphic: Node-only helpers are in `./node/`.
 */

export { canonicalJson, sha256Hex, sha256HexAsync } from './canonicalJson.ts';
export { CATEGORY_KEY_HKDF_SALT, categoryKey } from './categoryKey.ts';
export {
  CATEGORY_KEY_ID_INFO,
  type CategoryKeyEscrow,
  categoryKeyFromHex,
  categoryKeyId,
  categoryKeyToHex,
  getCategoryKeyEscrow,
  openCategoryKey,
  openCategoryKeyEscrow,
  putCategoryKeyEscrow,
  type ResolveCategoryKeyParameters,
  type ResolveCategoryKeyReturnType,
  resolveCategoryKey,
  sealCategoryKey,
} from './categoryKeyEscrow.ts';
export { type CategoryTagParameters, type CategoryTagReturnType, categoryTag } from './categoryTag.ts';
export {
  type ConvertCcdaParameters,
  type ConvertCcdaReturnType,
  convertCcda,
  DEFAULT_MAX_CCDA_BYTES,
} from './ccda.ts';
export { clinicalDate } from './clinicalDate.ts';
export {
  DICOM_DCM_SYSTEM,
  type DicomHeader,
  dicomDate,
  type ImagingStudyFromDicomParameters,
  imagingStudyFromDicom,
  isDicomPart10,
  readDicomHeader,
} from './dicom.ts';
export { impossibleFhirDate } from './fhirDate.ts';
export { fhirXmlToJson, isFhirXml } from './fhirXml.ts';
export {
  type DescribeFileParameters,
  describeFile,
  FILE_CONTENT_TYPES,
  type FileKind,
  fileKindOf,
  MAX_DICOM_HEADER_BYTES,
  MAX_PDF_METADATA_BYTES,
  readDicomHeaderOf,
} from './fileImport.ts';
export { FILE_ATTACHMENT_EXTENSION, fileRecordUri, recordIdOfAttachment } from './fileRecordUri.ts';
export {
  type DocumentReferenceFromFileParameters,
  documentReferenceFromFile,
  type FileFacts,
  fileAttachment,
  fileRecordCategory,
  isPdf,
  type PdfInfo,
  readPdfInfo,
  withFileAttachment,
} from './fileResources.ts';
export {
  type LoadR4DefinitionsParameters,
  type LoadR4DefinitionsReturnType,
  loadR4Definitions,
  medplumR4DefinitionSources,
  type R4DefinitionSources,
} from './loadR4Definitions.ts';
export {
  DEFAULT_MAX_FHIR_BYTES,
  DEFAULT_MAX_FHIR_DEPTH,
  type JsonObject,
  type JsonValue,
  type ParseFhirJsonParameters,
  type ParseFhirJsonReturnType,
  parseFhirJson,
} from './parseFhirJson.ts';
export { recordCategory } from './recordCategory.ts';
export { type CategoryKeySession, sessionCategoryKey } from './sessionCategoryKey.ts';
export {
  type FhirRecord,
  ORIGINAL_SOURCE_EXTENSION,
  type SplitIntoRecordsParameters,
  type SplitIntoRecordsReturnType,
  splitIntoRecords,
  stampCustodian,
  toRecords,
} from './splitIntoRecords.ts';
export {
  DEFAULT_MAX_BUNDLE_ENTRIES,
  DEFAULT_MAX_ISSUES,
  IMPORTABLE_BUNDLE_TYPES,
  type ValidatedResource,
  type ValidateFhirParameters,
  type ValidateFhirReturnType,
  validateFhir,
} from './validateFhir.ts';
