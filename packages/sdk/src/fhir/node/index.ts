/** `@carekey/sdk/fhir/node` — Node-only FHIR helpers: the worker-thread pool and file-based definitions. */
export { FhirWorkerPool, type FhirWorkerPoolParameters } from './FhirWorkerPool.ts';
export {
  type EncryptFileToPayloadReturnType,
  encryptFileToPayload,
  type FileKind,
  MAX_DICOM_HEADER_BYTES,
  MAX_PDF_METADATA_BYTES,
  type PrepareFileImportParameters,
  type PrepareFileImportReturnType,
  prepareFileImport,
  readDicomFileHeader,
  sniffFileKind,
} from './importFile.ts';
export { nodeR4DefinitionSources } from './nodeR4DefinitionSources.ts';
export {
  DEFAULT_IN_THREAD_BELOW_BYTES,
  type ValidateManyParameters,
  type ValidateManyResult,
  type ValidateManyReturnType,
  validateMany,
} from './validateMany.ts';
