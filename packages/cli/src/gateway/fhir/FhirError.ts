import type { OperationOutcome } from '@medplum/fhirtypes';

/** OperationOutcome issue codes the gateway uses (http://hl7.org/fhir/R4/valueset-issue-type.html). */
export type IssueCode =
  | 'invalid'
  | 'not-found'
  | 'not-supported'
  | 'forbidden'
  | 'login'
  | 'expired'
  | 'security'
  | 'processing'
  | 'too-costly'
  | 'exception';

/**
 * A FHIR failure answered as an `OperationOutcome` with an HTTP status (STYLE.md: "speak the edge's language").
 * `diagnostics` says what was wrong, quoting the offending value; `expression` names the parameter or element.
 */
export class FhirError extends Error {
  override name = 'FhirError';
  readonly status: number;
  readonly code: IssueCode;
  readonly expression: string[] | undefined;
  /** What the access log records when it differs from what the caller is told. */
  readonly logReason: string | undefined;

  constructor(
    status: number,
    code: IssueCode,
    diagnostics: string,
    expression?: string[],
    logReason?: string,
  ) {
    super(diagnostics);
    this.status = status;
    this.code = code;
    this.expression = expression;
    this.logReason = logReason;
  }

  /** The OperationOutcome body. */
  toOutcome(): OperationOutcome {
    return operationOutcome(this.code, this.message, this.expression, this.status >= 500 ? 'fatal' : 'error');
  }
}

/** A one-issue OperationOutcome. */
export function operationOutcome(
  code: IssueCode | 'informational',
  diagnostics: string,
  expression?: string[],
  severity: 'fatal' | 'error' | 'warning' | 'information' = 'error',
): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity, code, diagnostics, ...(expression === undefined ? {} : { expression }) }],
  };
}
