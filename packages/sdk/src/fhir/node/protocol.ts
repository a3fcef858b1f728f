import type { OperationOutcome } from '@medplum/fhirtypes';
import type { FhirParseErrorParameters } from '../../errors/fhir.ts';
import type { FhirRecord, SplitIntoRecordsParameters } from '../splitIntoRecords.ts';

/** Options a worker applies to each input (everything of `SplitIntoRecordsParameters` but the input itself). */
export type WorkerOptions = Omit<SplitIntoRecordsParameters, 'input' | 'definitions'>;

/** Pool → worker: one input to validate and split. */
export type WorkerRequest = { id: number; input: Uint8Array | string; options: WorkerOptions };

/** Worker → pool: the records (without `resource`) or the error, as plain data. */
export type WorkerReply =
  | { id: number; ok: true; records: Omit<FhirRecord, 'resource'>[]; outcome: OperationOutcome }
  | { id: number; ok: false; kind: 'parse'; problem: string; parameters: FhirParseErrorParameters }
  | { id: number; ok: false; kind: 'validation'; outcome: OperationOutcome }
  | { id: number; ok: false; kind: 'other'; message: string };
