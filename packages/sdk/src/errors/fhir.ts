import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/** Base of every FHIR ingestion error; `outcome` says the same thing as a FHIR `OperationOutcome`. */
export class FhirError extends BaseError {
  override name = 'FhirError';
  /** The error as a FHIR R4 `OperationOutcome` (what an HTTP or FHIR edge returns). */
  readonly outcome: OperationOutcome;
  constructor(shortMessage: string, outcome: OperationOutcome, parameters: BaseErrorParameters = {}) {
    super(shortMessage, parameters);
    this.outcome = outcome;
  }
}

/** Why a JSON text was refused before any FHIR validation. */
export type FhirParseErrorReason =
  | 'too-large'
  | 'too-deep'
  | 'string-too-long'
  | 'invalid-utf8'
  | 'syntax'
  | 'forbidden-key'
  | 'duplicate-key'
  | 'not-an-object';

export type FhirParseErrorParameters = {
  reason: FhirParseErrorReason;
  /** Byte offset (UTF-8) of the fault in the input, when it has one. */
  offset?: number;
  /** JSON path of the fault, like `$.entry[3].resource.id`. */
  path?: string;
  hint?: string;
  cause?: unknown;
};

const parseIssueCode: Record<FhirParseErrorReason, OperationOutcomeIssue['code']> = {
  'too-large': 'too-costly',
  'too-deep': 'too-costly',
  'string-too-long': 'too-long',
  'invalid-utf8': 'structure',
  syntax: 'structure',
  'forbidden-key': 'security',
  'duplicate-key': 'structure',
  'not-an-object': 'structure',
};

/** The input is not acceptable JSON for FHIR: too large, too deep, malformed, unsafe keys (T-19). */
export class FhirParseError extends FhirError {
  override name = 'FhirParseError';
  readonly reason: FhirParseErrorReason;
  readonly offset: number | undefined;
  readonly path: string | undefined;
  /** What was wrong, without the location (the `message` argument). */
  readonly problem: string;
  /** The constructor's parameters (to rebuild the error across a worker boundary). */
  readonly parameters: FhirParseErrorParameters;
  constructor(message: string, parameters: FhirParseErrorParameters) {
    const where = [
      parameters.path === undefined ? undefined : `at ${parameters.path}`,
      parameters.offset === undefined ? undefined : `byte ${parameters.offset}`,
    ]
      .filter(Boolean)
      .join(', ');
    const shortMessage = `invalid FHIR JSON: ${message}${where ? ` (${where})` : ''}`;
    const issue: OperationOutcomeIssue = {
      severity: 'error',
      code: parseIssueCode[parameters.reason],
      details: { text: shortMessage },
    };
    if (parameters.path !== undefined) issue.expression = [parameters.path];
    super(
      shortMessage,
      { resourceType: 'OperationOutcome', issue: [issue] },
      {
        details: { reason: parameters.reason, offset: parameters.offset, path: parameters.path },
        ...(parameters.hint === undefined ? {} : { hint: parameters.hint }),
        ...(parameters.cause === undefined ? {} : { cause: parameters.cause }),
      },
    );
    this.problem = message;
    this.parameters = parameters;
    this.reason = parameters.reason;
    this.offset = parameters.offset;
    this.path = parameters.path;
  }
}

/**
 * The JSON is not valid FHIR R4 (per Medplum's validator and Carekey's extra checks). Every fault is an
 * `error` issue of `outcome`, with the FHIRPath of the fault in `expression` and the resource
 * (`resourceType/id`, Bundle entry index) in `details.text`.
 */
export class FhirValidationError extends FhirError {
  override name = 'FhirValidationError';
  constructor(outcome: OperationOutcome, parameters: BaseErrorParameters = {}) {
    const issues = outcome.issue ?? [];
    const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    const first = errors[0] ?? issues[0];
    const where = first?.expression?.[0];
    const text = first?.details?.text ?? first?.diagnostics ?? 'invalid resource';
    const more =
      errors.length > 1 ? ` (and ${errors.length - 1} more issue${errors.length > 2 ? 's' : ''})` : '';
    super(`invalid FHIR R4: ${text}${where ? ` at ${where}` : ''}${more}`, outcome, {
      hint: 'fix the resource so it conforms to FHIR R4; the OperationOutcome lists every fault',
      ...parameters,
      details: { issues: errors.length, ...(parameters.details ?? {}) },
    });
  }
}

/** A category tag cannot be computed: the salt is too short or the category empty. */
export class CategoryTagError extends BaseError {
  override name = 'CategoryTagError';
}

/** The identity's category key cannot be had: its escrow does not open, or the wallet's copy is malformed. */
export class CategoryKeyError extends BaseError {
  override name = 'CategoryKeyError';
}

/** Why a non-JSON input (C-CDA, DICOM, PDF) was refused before it became FHIR. */
export type FhirImportErrorReason =
  | 'too-large'
  | 'not-ccda'
  | 'unsafe-xml'
  | 'conversion'
  | 'not-dicom'
  | 'not-pdf';

/**
 * A C-CDA document, DICOM file or PDF cannot be imported: not what its name says, malformed, unsafe or too large.
 * `outcome` carries the same one-line message as an `OperationOutcome` issue.
 */
export class FhirImportError extends FhirError {
  override name = 'FhirImportError';
  readonly reason: FhirImportErrorReason;
  constructor(
    message: string,
    parameters: { reason: FhirImportErrorReason; hint?: string; cause?: unknown },
  ) {
    super(
      message,
      {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code:
              parameters.reason === 'too-large'
                ? 'too-costly'
                : parameters.reason === 'unsafe-xml'
                  ? 'security'
                  : 'structure',
            details: { text: message },
          },
        ],
      },
      {
        details: { reason: parameters.reason },
        ...(parameters.hint === undefined ? {} : { hint: parameters.hint }),
        ...(parameters.cause === undefined ? {} : { cause: parameters.cause }),
      },
    );
    this.reason = parameters.reason;
  }
}
