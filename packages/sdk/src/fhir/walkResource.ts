import { type InternalSchemaElement, type InternalTypeSchema, tryGetDataType } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { impossibleFhirDate } from './fhirDate.ts';
import type { JsonObject, JsonValue } from './parseFhirJson.ts';
import type { RequiredCodes } from './requiredCodes.ts';

/** What a walk over one resource needs and what it reports. */
export type WalkContext = {
  /** Bundle entry `fullUrl` → `ResourceType/id` of that entry. */
  fullUrls: ReadonlyMap<string, string>;
  requiredCodes: RequiredCodes;
  /** Faults found (error issues), with FHIRPath expressions. */
  issues: OperationOutcomeIssue[];
  /** Stop adding issues past this many. */
  maxIssues: number;
  /** Prefix of every issue's details text, naming the resource (`Observation/1 (entry 3)`). */
  label: string;
};

/** The R4 `id` type: https://hl7.org/fhir/R4/datatypes.html#id */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

type Resolved = { element: InternalSchemaElement; type: string };
const lookups = new WeakMap<InternalTypeSchema, Map<string, Resolved | null>>();

/** The element and concrete type a JSON key of a type names (`valueQuantity` → `value[x]`, `Quantity`). */
function resolveKey(schema: InternalTypeSchema, key: string): Resolved | undefined {
  let cache = lookups.get(schema);
  if (!cache) {
    cache = new Map();
    lookups.set(schema, cache);
  }
  const hit = cache.get(key);
  if (hit !== undefined) return hit ?? undefined;
  let resolved: Resolved | null = null;
  const direct = schema.elements[key];
  if (direct && direct.type.length === 1)
    resolved = { element: direct, type: (direct.type[0] as { code: string }).code };
  else if (!direct) {
    for (const [name, element] of Object.entries(schema.elements)) {
      if (!name.endsWith('[x]')) continue;
      const base = name.slice(0, -3);
      if (!key.startsWith(base)) continue;
      const suffix = key.slice(base.length);
      const type = element.type.find((t) => t.code.charAt(0).toUpperCase() + t.code.slice(1) === suffix);
      if (type) {
        resolved = { element, type: type.code };
        break;
      }
    }
  }
  cache.set(key, resolved);
  return resolved ?? undefined;
}

/**
 * Walks one resource with its R4 type information: rewrites `urn:uuid:` / `urn:oid:` references (and
 * references equal to an entry's fullUrl) to `ResourceType/id`, and reports what Medplum's validator lets
 * through: impossible dates, codes outside a required binding, `urn:` references to no entry, `#id`
 * references to no contained resource. Keys the schema does not know are left to the validator.
 *
 * @param resource the resource; its references are rewritten in place.
 * @param path the FHIRPath of the resource (`Observation` or `Bundle.entry[3].resource`).
 */
export function walkResource(resource: JsonObject, path: string, context: WalkContext): void {
  const resourceType = resource.resourceType;
  if (typeof resourceType !== 'string') return;
  const schema = tryGetDataType(resourceType);
  if (!schema) return;
  const containedIds = new Set<string>();
  const contained = resource.contained;
  if (Array.isArray(contained)) {
    for (const c of contained) {
      if (c && typeof c === 'object' && !Array.isArray(c) && typeof c.id === 'string') containedIds.add(c.id);
    }
  }
  walkObject(resource, schema, path, context, containedIds);
}

function report(context: WalkContext, issue: OperationOutcomeIssue): void {
  if (context.issues.length >= context.maxIssues) return;
  const text = issue.details?.text ?? '';
  context.issues.push({ ...issue, details: { text: `${context.label}: ${text}` } });
}

function walkObject(
  value: JsonObject,
  schema: InternalTypeSchema,
  path: string,
  context: WalkContext,
  containedIds: ReadonlySet<string>,
): void {
  for (const key of Object.keys(value)) {
    if (key === 'resourceType') continue;
    const child = value[key] as JsonValue;
    if (key.startsWith('_')) {
      // The id and extensions of a primitive (https://hl7.org/fhir/R4/json.html#primitive).
      const element = tryGetDataType('Element');
      if (element)
        walkValue(
          child,
          { element: element.elements.extension as InternalSchemaElement, type: 'Element' },
          `${path}.${key}`,
          context,
          containedIds,
        );
      continue;
    }
    if (key === 'id' && schema.kind === 'resource') {
      // Medplum 4.5 does not check the format of Resource.id (R4 type `id`); ids end up in references
      // (`Patient/<id>`), so a path like "../x" must not get through.
      if (typeof child === 'string' && !FHIR_ID.test(child)) {
        report(context, {
          severity: 'error',
          code: 'value',
          details: {
            text: `id ${JSON.stringify(child.length > 80 ? `${child.slice(0, 80)}…` : child)} is not a FHIR id (1 to 64 of A-Z a-z 0-9 - .)`,
          },
          expression: [`${path}.id`],
        });
      }
      continue;
    }
    const resolved = resolveKey(schema, key);
    if (!resolved) continue;
    walkValue(child, resolved, `${path}.${key}`, context, containedIds);
  }
}

function walkValue(
  value: JsonValue,
  resolved: Resolved,
  path: string,
  context: WalkContext,
  containedIds: ReadonlySet<string>,
): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      walkOne(item, resolved, `${path}[${index}]`, context, containedIds);
    });
  } else walkOne(value, resolved, path, context, containedIds);
}

function walkOne(
  value: JsonValue,
  resolved: Resolved,
  path: string,
  context: WalkContext,
  containedIds: ReadonlySet<string>,
): void {
  if (value === null) return;
  const { type, element } = resolved;
  if (typeof value === 'string') {
    if (type === 'id' && !FHIR_ID.test(value)) {
      report(context, {
        severity: 'error',
        code: 'value',
        details: {
          text: `${JSON.stringify(value.slice(0, 80))} is not a FHIR id (1 to 64 of A-Z a-z 0-9 - .)`,
        },
        expression: [path],
      });
    } else if (type === 'date' || type === 'dateTime' || type === 'instant') {
      const why = impossibleFhirDate(value);
      if (why) {
        report(context, {
          severity: 'error',
          code: 'value',
          details: { text: `impossible ${type} ${JSON.stringify(value)}: ${why}` },
          expression: [path],
        });
      }
    } else if (type === 'code' && element.binding?.strength === 'required' && element.binding.valueSet) {
      const codes = context.requiredCodes.codes(element.binding.valueSet);
      if (codes && !codes.has(value)) {
        const list = [...codes].slice(0, 12).join(', ');
        report(context, {
          severity: 'error',
          code: 'code-invalid',
          details: {
            text: `code ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} is not in the required value set ${element.binding.valueSet} (one of: ${list}${codes.size > 12 ? ', …' : ''})`,
          },
          expression: [path],
        });
      }
    }
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return;
  if (type === 'Resource' || type === 'DomainResource') {
    // Bundle.entry.resource, contained[], Parameters.parameter.resource: walk with the resource's own type.
    const inner = typeof value.resourceType === 'string' ? tryGetDataType(value.resourceType) : undefined;
    if (inner) walkObject(value, inner, path, context, containedIds);
    return;
  }
  if (type === 'Reference') checkReference(value, path, context, containedIds);
  const schema = tryGetDataType(type);
  if (schema) walkObject(value, schema, path, context, containedIds);
}

function checkReference(
  value: JsonObject,
  path: string,
  context: WalkContext,
  containedIds: ReadonlySet<string>,
): void {
  const reference = value.reference;
  if (typeof reference !== 'string') return;
  const target = context.fullUrls.get(reference);
  if (target !== undefined) {
    value.reference = target;
    return;
  }
  if (reference.startsWith('urn:uuid:') || reference.startsWith('urn:oid:')) {
    report(context, {
      severity: 'error',
      code: 'not-found',
      details: {
        text: `broken reference ${JSON.stringify(reference)}: no Bundle entry of this input has this fullUrl`,
      },
      expression: [`${path}.reference`],
    });
  } else if (reference.startsWith('#') && reference.length > 1 && !containedIds.has(reference.slice(1))) {
    report(context, {
      severity: 'error',
      code: 'not-found',
      details: { text: `broken reference ${JSON.stringify(reference)}: no contained resource has this id` },
      expression: [`${path}.reference`],
    });
  }
}
