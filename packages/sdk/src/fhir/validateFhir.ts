import { OperationOutcomeError, tryGetDataType, validateResource } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirValidationError } from '../errors/fhir.ts';
import { type LoadR4DefinitionsParameters, loadR4Definitions } from './loadR4Definitions.ts';
import {
  type JsonObject,
  type JsonValue,
  type ParseFhirJsonParameters,
  parseFhirJson,
} from './parseFhirJson.ts';
import { RequiredCodes } from './requiredCodes.ts';
import { walkResource } from './walkResource.ts';

/** Bundle types whose entries are records to import. */
export const IMPORTABLE_BUNDLE_TYPES = [
  'transaction',
  'batch',
  'collection',
  'document',
  'searchset',
] as const;
/** Default largest number of entries in one Bundle (a Synthea patient has 70–1,116). */
export const DEFAULT_MAX_BUNDLE_ENTRIES = 10_000;
/** Default largest number of issues reported; validation stops there. */
export const DEFAULT_MAX_ISSUES = 100;

export type ValidateFhirParameters = ParseFhirJsonParameters & {
  /**
   * FHIR JSON as UTF-8 bytes or text (parsed with {@link parseFhirJson}), or an already parsed value
   * (serialised and parsed again, so it gets the same checks and is never modified).
   */
  input: Uint8Array | string | object;
  /** Largest number of entries in a Bundle (default 10,000). */
  maxEntries?: number;
  /** Validation stops after this many error issues (default 100). */
  maxIssues?: number;
  /** Where the R4 definitions come from (see `loadR4Definitions`). */
  definitions?: LoadR4DefinitionsParameters;
};

/** One resource of the input, references rewritten to `ResourceType/id`, ready to become a record. */
export type ValidatedResource = {
  resource: Resource & { id: string };
  /** Index in `Bundle.entry`, or `undefined` when the input is a single resource. */
  entryIndex: number | undefined;
};

export type ValidateFhirReturnType = {
  /** The input's resources (the entries of a Bundle, or the one resource). */
  resources: ValidatedResource[];
  /** The input's root: a Bundle (entries unchanged) or the resource. */
  root: JsonObject;
  /** Warnings of the validator (at most `maxIssues`), as an OperationOutcome. */
  outcome: OperationOutcome;
};

type ErrorIssue = OperationOutcomeIssue;

/**
 * Validates FHIR R4 JSON — one resource or a Bundle of type transaction, batch, collection, document or
 * searchset — with Medplum's validator and these extra rules: a known resource type at the root and in every
 * entry, an entry always has a resource, no two entries with the same `fullUrl` or `resourceType/id`, no
 * `urn:uuid:`/`urn:oid:` reference to a missing entry, no `#id` reference to a missing contained resource,
 * no impossible date, no code outside a required binding (where the R4 value set is enumerable), a document
 * Bundle starts with a Composition, at most `maxEntries` entries.
 *
 * Resources without an id get one: the id of a PUT request's url, else the UUID of their `urn:uuid:` fullUrl,
 * else a fresh random UUID. References
 * to an entry's fullUrl are rewritten to `ResourceType/id` before validation.
 *
 * @returns the validated resources; nothing is returned unless the whole input is valid.
 * @throws {FhirParseError} when the input is not safe, well-formed JSON (see `parseFhirJson`).
 * @throws {FhirValidationError} with every fault (up to `maxIssues`) in its `outcome`: each issue's
 *   `expression` is the FHIRPath of the fault and its text names the resource and entry index.
 * @example
 * const { resources } = await validateFhir({ input: bytes });
 */
export async function validateFhir(parameters: ValidateFhirParameters): Promise<ValidateFhirReturnType> {
  const { valueSets } = await loadR4Definitions(parameters.definitions);
  requiredCodes ??= new RequiredCodes(valueSets);
  return validateLoaded(parameters, requiredCodes);
}

let requiredCodes: RequiredCodes | undefined;

function fail(issues: ErrorIssue[]): never {
  throw new FhirValidationError({ resourceType: 'OperationOutcome', issue: issues });
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function isResourceType(name: string): boolean {
  return tryGetDataType(name)?.kind === 'resource';
}

function validateLoaded(parameters: ValidateFhirParameters, codes: RequiredCodes): ValidateFhirReturnType {
  const limits: ParseFhirJsonParameters = {};
  if (parameters.maxBytes !== undefined) limits.maxBytes = parameters.maxBytes;
  if (parameters.maxDepth !== undefined) limits.maxDepth = parameters.maxDepth;
  if (parameters.maxStringLength !== undefined) limits.maxStringLength = parameters.maxStringLength;
  const { input } = parameters;
  const root =
    typeof input === 'string' || input instanceof Uint8Array
      ? parseFhirJson(input, limits)
      : parseFhirJson(JSON.stringify(input) ?? '', limits);
  const maxIssues = parameters.maxIssues ?? DEFAULT_MAX_ISSUES;
  const maxEntries = parameters.maxEntries ?? DEFAULT_MAX_BUNDLE_ENTRIES;

  const resourceType = root.resourceType;
  if (typeof resourceType !== 'string') {
    fail([
      {
        severity: 'error',
        code: 'structure',
        details: {
          text: `not a FHIR resource: ${resourceType === undefined ? 'no "resourceType"' : `"resourceType" is ${quote(resourceType)}`} in ${quote(root)}`,
        },
        expression: ['resourceType'],
        diagnostics:
          'a FHIR resource is a JSON object with a "resourceType" string, like {"resourceType":"Patient"}',
      },
    ]);
  }
  if (!isResourceType(resourceType)) fail([unknownType(resourceType, resourceType, 'the input')]);

  if (resourceType !== 'Bundle') {
    const issues: ErrorIssue[] = [];
    const warnings: OperationOutcomeIssue[] = [];
    const label = root.id === undefined ? `${resourceType} (no id)` : `${resourceType}/${String(root.id)}`;
    if (root.id === undefined) root.id = crypto.randomUUID();
    walkResource(root, resourceType, { fullUrls: new Map(), requiredCodes: codes, issues, maxIssues, label });
    medplum(root, resourceType, resourceType, label, issues, warnings, maxIssues);
    if (issues.length > 0) fail(issues);
    return {
      resources: [{ resource: root as unknown as Resource & { id: string }, entryIndex: undefined }],
      root,
      outcome: { resourceType: 'OperationOutcome', issue: warnings },
    };
  }
  return validateBundle(root, { codes, maxIssues, maxEntries });
}

function unknownType(resourceType: string, expression: string, where: string): ErrorIssue {
  return {
    severity: 'error',
    code: 'not-supported',
    details: { text: `unknown resourceType ${quote(resourceType)} in ${where}` },
    expression: [expression],
    diagnostics:
      'use a FHIR R4 resource type (https://hl7.org/fhir/R4/resourcelist.html), spelled with its capitals',
  };
}

/** Runs Medplum's validator; maps its issues to the resource's place in the input. */
function medplum(
  resource: JsonObject,
  resourceType: string,
  path: string,
  label: string,
  issues: ErrorIssue[],
  warnings: OperationOutcomeIssue[],
  maxIssues: number,
): void {
  const relocate = (issue: OperationOutcomeIssue): OperationOutcomeIssue => {
    const relocated: OperationOutcomeIssue = {
      ...issue,
      details: { text: `${label}: ${issue.details?.text ?? issue.diagnostics ?? issue.code}` },
    };
    if (issue.expression) {
      relocated.expression = issue.expression.map((e) =>
        e === resourceType || e.startsWith(`${resourceType}.`) ? path + e.slice(resourceType.length) : e,
      );
    } else relocated.expression = [path];
    return relocated;
  };
  try {
    for (const warning of validateResource(resource as unknown as Resource)) {
      if (warnings.length < maxIssues) warnings.push(relocate(warning));
    }
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    for (const issue of error.outcome.issue ?? []) {
      const target = issue.severity === 'error' || issue.severity === 'fatal' ? issues : warnings;
      if (target.length < maxIssues) target.push(relocate(issue));
    }
  }
}

type BundleOptions = { codes: RequiredCodes; maxIssues: number; maxEntries: number };

/** Entries of a Bundle resource, counting those of Bundles held in its entries. */
function nestedBundleEntries(bundle: JsonObject): number {
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  let count = entries.length;
  for (const entry of entries) {
    const inner = isObject(entry) ? entry.resource : undefined;
    if (isObject(inner) && inner.resourceType === 'Bundle') count += nestedBundleEntries(inner);
  }
  return count;
}

/** Stands for a fullUrl Medplum would accept in an entry shell (`distinctEntries`); never a real one. */
const PLACEHOLDER_FULL_URL = 'urn:carekey:entry-shell:';

/**
 * A fullUrl Medplum accepts for sure in `Bundle.entry.fullUrl` (R4 `uri`: non-empty, no whitespace, under
 * 1 MB; bdl-8: not version-specific).
 */
function plainFullUrl(fullUrl: unknown): fullUrl is string {
  return (
    typeof fullUrl === 'string' &&
    fullUrl.length > 0 &&
    fullUrl.length <= 1024 * 1024 &&
    /^\S*$/.test(fullUrl) &&
    !fullUrl.includes('/_history/') &&
    !fullUrl.startsWith(PLACEHOLDER_FULL_URL)
  );
}

/**
 * The Bundle shell (entries without their resources) with each distinct entry once, for Medplum: Synthea's
 * 7,447 entry shells are ≈ 20 kinds of `{ fullUrl, request: { method: "POST", url: <type> } }` that differ only
 * in their fullUrl, and Medplum's checks of them cost ≈ 10 % of a Bundle's validation. A fullUrl Medplum accepts
 * for sure and that no other entry has is replaced by a placeholder, distinct per kind (bdl-7 still sees unique
 * fullUrls); any other entry (a fullUrl that is odd or repeated, `_fullUrl`, not an object) is kept as it is, on
 * its own. `members[k]` lists the entries of the input that `shell.entry[k]` stands for.
 */
function distinctEntries(shell: JsonObject): { shell: JsonObject; members: number[][] } {
  const entries = shell.entry;
  if (!Array.isArray(entries)) return { shell, members: [] };
  const seen = new Map<string, number>();
  for (const entry of entries) {
    const fullUrl = isObject(entry) ? entry.fullUrl : undefined;
    if (typeof fullUrl === 'string') seen.set(fullUrl, (seen.get(fullUrl) ?? 0) + 1);
  }
  const kinds = new Map<string, number>();
  const distinct: JsonValue[] = [];
  const members: number[][] = [];
  entries.forEach((entry, index) => {
    const fullUrl = isObject(entry) ? entry.fullUrl : undefined;
    if (!isObject(entry) || !plainFullUrl(fullUrl) || seen.get(fullUrl) !== 1 || '_fullUrl' in entry) {
      members.push([index]);
      distinct.push(entry);
      return;
    }
    const { fullUrl: _fullUrl, ...rest } = entry;
    const key = JSON.stringify(rest);
    const kind = kinds.get(key);
    if (kind !== undefined) {
      (members[kind] as number[]).push(index);
      return;
    }
    kinds.set(key, distinct.length);
    members.push([index]);
    distinct.push({ ...entry, fullUrl: `${PLACEHOLDER_FULL_URL}${distinct.length}` });
  });
  return { shell: { ...shell, entry: distinct }, members };
}

/** Issues of `distinctEntries`' shell on the input: one per entry an issue's entry stands for, in entry order. */
function spreadOverEntries<issue extends OperationOutcomeIssue>(
  issues: issue[],
  members: number[][],
): issue[] {
  const out: { issue: issue; at: number }[] = [];
  for (const issue of issues) {
    const found = /^Bundle\.entry\[(\d+)\]/.exec(issue.expression?.[0] ?? '');
    const entries = found ? members[Number(found[1])] : undefined;
    if (!found || entries === undefined) {
      out.push({ issue, at: -1 });
      continue;
    }
    const from = `Bundle.entry[${found[1]}]`;
    for (const index of entries) {
      const to = `Bundle.entry[${index}]`;
      const moved = { ...issue };
      if (issue.expression) moved.expression = issue.expression.map((e) => e.split(from).join(to));
      if (issue.details?.text !== undefined)
        moved.details = { text: issue.details.text.split(from).join(to) };
      if (issue.diagnostics !== undefined) moved.diagnostics = issue.diagnostics.split(from).join(to);
      out.push({ issue: moved, at: index });
    }
  }
  // Stable: issues on the Bundle itself first, as Medplum checks its constraints first, then by entry.
  return out.sort((a, b) => a.at - b.at).map((o) => o.issue);
}

function validateBundle(bundle: JsonObject, options: BundleOptions): ValidateFhirReturnType {
  const { codes, maxIssues } = options;
  const issues: ErrorIssue[] = [];
  const warnings: OperationOutcomeIssue[] = [];
  const add = (issue: ErrorIssue) => {
    if (issues.length < maxIssues) issues.push(issue);
  };
  const bundleLabel = `Bundle${typeof bundle.id === 'string' ? `/${bundle.id}` : ''}`;
  const type = bundle.type;
  if (typeof type === 'string' && !(IMPORTABLE_BUNDLE_TYPES as readonly string[]).includes(type)) {
    fail([
      {
        severity: 'error',
        code: 'not-supported',
        details: { text: `${bundleLabel}: a Bundle of type ${quote(type)} cannot be imported` },
        expression: ['Bundle.type'],
        diagnostics: `send a Bundle of type ${IMPORTABLE_BUNDLE_TYPES.join(', ')}`,
      },
    ]);
  }
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries)) {
    fail([
      {
        severity: 'error',
        code: 'structure',
        details: { text: `${bundleLabel}: "entry" must be an array, got ${quote(entries)}` },
        expression: ['Bundle.entry'],
      },
    ]);
  }
  if (entries.length > options.maxEntries) {
    // Checked before any validation: a huge Bundle costs one parse, not minutes of validation.
    fail([
      {
        severity: 'error',
        code: 'too-costly',
        details: {
          text: `${bundleLabel} has ${entries.length} entries, over the limit of ${options.maxEntries}`,
        },
        expression: ['Bundle.entry'],
        diagnostics: 'split it into several Bundles, or raise maxEntries',
      },
    ]);
  }

  // The Bundle with its entries but without their resources (validated one by one below): Medplum checks
  // type, timestamp, fullUrl, request, search… Its bdl-5 (entry has a resource or a request) and bdl-11
  // (document starts with a Composition), and ele-1 or "empty value" for an entry that had only a
  // resource, cannot hold on this shell: we check those ourselves ("entry N has no resource").
  const shell: JsonObject = { ...bundle };
  if (Array.isArray(bundle.entry)) {
    shell.entry = entries.map((entry) => {
      if (!isObject(entry)) return entry;
      const { resource: _resource, ...rest } = entry;
      return rest;
    });
  }
  // Medplum sees each distinct entry once (`distinctEntries`); its issues on an entry are repeated for every
  // entry like it, with that entry's index.
  const distinct = distinctEntries(shell);
  const shellIssues: ErrorIssue[] = [];
  const shellWarnings: OperationOutcomeIssue[] = [];
  medplum(distinct.shell, 'Bundle', 'Bundle', bundleLabel, shellIssues, shellWarnings, maxIssues);
  for (const warning of spreadOverEntries(shellWarnings, distinct.members)) {
    if (warnings.length < maxIssues) warnings.push(warning);
  }
  for (const issue of spreadOverEntries(shellIssues, distinct.members)) {
    const text = issue.details?.text ?? '';
    const onEntry = /^Bundle\.entry\[\d+\]$/.test(issue.expression?.[0] ?? '');
    if (
      /Constraint bdl-11 not met/.test(text) ||
      (onEntry && /Constraint (bdl-5|ele-1) not met|Invalid empty non-primitive value/.test(text))
    )
      continue;
    add(issue);
  }
  walkResource(shell, 'Bundle', {
    fullUrls: new Map(),
    requiredCodes: codes,
    issues,
    maxIssues,
    label: bundleLabel,
  });

  // First pass: every entry has a known resource; ids and fullUrls are unique.
  const fullUrls = new Map<string, string>();
  const firstEntryOf = new Map<string, number>();
  const resources: ValidatedResource[] = [];
  entries.forEach((entry, index) => {
    const path = `Bundle.entry[${index}]`;
    if (!isObject(entry)) {
      add({
        severity: 'error',
        code: 'structure',
        details: { text: `${bundleLabel}: entry ${index} is ${quote(entry)}, not an object` },
        expression: [path],
      });
      return;
    }
    const resource = entry.resource;
    if (!isObject(resource)) {
      const method = isObject(entry.request)
        ? ` (request ${quote(entry.request.method)} ${quote(entry.request.url)})`
        : '';
      add({
        severity: 'error',
        code: 'required',
        details: { text: `${bundleLabel}: entry ${index} has no resource${method}` },
        expression: [`${path}.resource`],
        diagnostics: 'every entry to import must carry its resource (no DELETE or GET requests)',
      });
      return;
    }
    const resourceType = resource.resourceType;
    if (typeof resourceType !== 'string' || !isResourceType(resourceType)) {
      add(unknownType(String(resourceType), `${path}.resource.resourceType`, `entry ${index}`));
      return;
    }
    // A Bundle held as an entry (or an NDJSON line) is bounded like the root: one record of 50,000 entries would
    // cost minutes of validation.
    if (resourceType === 'Bundle') {
      const inner = nestedBundleEntries(resource);
      if (inner > options.maxEntries) {
        add({
          severity: 'error',
          code: 'too-costly',
          details: {
            text: `${bundleLabel}: the Bundle in entry ${index} has ${inner} entries, over the limit of ${options.maxEntries}`,
          },
          expression: [`${path}.resource.entry`],
          diagnostics: 'split it into several Bundles, or raise maxEntries',
        });
        return;
      }
    }
    const fullUrl = entry.fullUrl;
    if (resource.id === undefined) {
      // A transaction's PUT names the id (`request.url` = `Patient/123`); else the fullUrl's UUID keeps
      // re-imports stable; else a fresh one.
      const request = isObject(entry.request) ? entry.request : undefined;
      const put =
        request?.method === 'PUT' &&
        typeof request.url === 'string' &&
        request.url.startsWith(`${resourceType}/`)
          ? /^[A-Za-z0-9\-.]{1,64}$/.exec(request.url.slice(resourceType.length + 1))?.[0]
          : undefined;
      const uuid =
        typeof fullUrl === 'string' ? /^urn:uuid:([0-9a-fA-F-]{36})$/.exec(fullUrl)?.[1] : undefined;
      resource.id = put ?? uuid?.toLowerCase() ?? crypto.randomUUID();
    }
    const id = resource.id;
    if (typeof id !== 'string') return; // Medplum reports the wrong type
    const key = `${resourceType}/${id}`;
    const previous = firstEntryOf.get(key);
    if (previous !== undefined) {
      add({
        severity: 'error',
        code: 'duplicate',
        details: { text: `${bundleLabel}: ${key} appears twice, in entries ${previous} and ${index}` },
        expression: [`${path}.resource.id`],
        diagnostics: 'each resource may appear once in a Bundle; give each its own id',
      });
      return;
    }
    firstEntryOf.set(key, index);
    if (typeof fullUrl === 'string') {
      if (fullUrls.has(fullUrl)) {
        add({
          severity: 'error',
          code: 'duplicate',
          details: { text: `${bundleLabel}: fullUrl ${quote(fullUrl)} appears twice (entry ${index})` },
          expression: [`${path}.fullUrl`],
          diagnostics: 'fullUrl must be unique in a Bundle (bdl-7)',
        });
        return;
      }
      fullUrls.set(fullUrl, key);
    }
    resources.push({ resource: resource as unknown as Resource & { id: string }, entryIndex: index });
  });

  if (type === 'document') {
    const first = (entries[0] as JsonObject | undefined)?.resource;
    if (!isObject(first) || first.resourceType !== 'Composition') {
      add({
        severity: 'error',
        code: 'invariant',
        details: { text: `${bundleLabel}: a document Bundle must start with a Composition (bdl-11)` },
        expression: ['Bundle.entry[0].resource'],
      });
    }
  }

  // Second pass: rewrite references, then validate each resource on its own.
  for (const { resource, entryIndex } of resources) {
    if (issues.length >= maxIssues) break;
    const json = resource as unknown as JsonObject;
    const path = `Bundle.entry[${entryIndex}].resource`;
    const label = `${resource.resourceType}/${resource.id} (entry ${entryIndex})`;
    walkResource(json, path, { fullUrls, requiredCodes: codes, issues, maxIssues, label });
    medplum(json, resource.resourceType, path, label, issues, warnings, maxIssues);
  }
  if (issues.length > 0) fail(issues);
  return { resources, root: bundle, outcome: { resourceType: 'OperationOutcome', issue: warnings } };
}
