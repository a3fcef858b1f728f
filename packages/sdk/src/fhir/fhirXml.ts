import { getDataType, type InternalTypeSchema, tryGetDataType } from '@medplum/core';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { FhirImportError } from '../errors/fhir.ts';

/**
 * # FHIR R4 XML → JSON (https://hl7.org/fhir/R4/xml.html, json.html)
 *
 * Driven by the R4 StructureDefinitions (Medplum's index, loaded by `loadR4Definitions`): an element that may
 * repeat becomes an array even when it occurs once, `boolean`/`integer`/`decimal` values become JSON booleans and
 * numbers, an `id` attribute or an extension on a primitive goes to `_name`, `extension/@url` to `url`, a resource
 * inside `contained`, `Bundle.entry.resource`… is unwrapped to an object with its `resourceType`, and the narrative
 * `div` is kept as XHTML text with its namespace (a prefixed `<xhtml:div>` is written unprefixed). Comments are
 * dropped. An element the definitions do not know is refused, naming its path, rather than guessed (a naive
 * converter turns XML comments into `fhir_comments` and drops prefixed narratives: docs/fhir.md §7).
 */

const FHIR_NS = 'http://hl7.org/fhir';
const XHTML_NS = 'http://www.w3.org/1999/xhtml';
const NUMBER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt', 'decimal', 'integer64']);
/** Primitive types (lower-case first letter in R4), whose XML carries `@value`. */
const isPrimitive = (type: string) => /^[a-z]/u.test(type) && type !== 'xhtml';

type XmlNode = { [tag: string]: XmlNode[] | string } & { ':@'?: Record<string, string> };
type Json = Record<string, unknown>;

/** Whether `xml` is a FHIR XML resource (root element in the FHIR namespace), not C-CDA or other XML. */
export function isFhirXml(xml: string): boolean {
  const root = /<([A-Za-z][\w.-]*:)?([A-Z][A-Za-z]+)\b[^>]*>/u.exec(
    xml.replace(/<\?[^>]*\?>|<!--[\s\S]*?-->/gu, ''),
  );
  return root !== null && new RegExp(`xmlns(:[\\w-]+)?=["']${FHIR_NS}["']`, 'u').test(root[0]);
}

function fail(message: string): never {
  throw new FhirImportError(`FHIR XML: ${message}`, { reason: 'conversion' });
}

function tagOf(node: XmlNode): string {
  const tag = Object.keys(node).find((k) => k !== ':@');
  return tag ?? '';
}

const localName = (tag: string) => tag.slice(tag.indexOf(':') + 1);

/** The schema of an element's type (a backbone element has its own, e.g. `PatientContact`). */
function schemaOf(type: string): InternalTypeSchema | undefined {
  return tryGetDataType(type);
}

/** The definition of child `name` of `schema`: a plain element, or a choice `value[x]` matched by its suffix. */
function elementOf(
  schema: InternalTypeSchema,
  name: string,
): { key: string; type: string; isArray: boolean } | undefined {
  const direct = schema.elements[name];
  if (direct !== undefined && !name.endsWith('[x]')) {
    const type = direct.type[0]?.code ?? 'string';
    return { key: name, type, isArray: direct.isArray === true || direct.max > 1 };
  }
  for (const [key, element] of Object.entries(schema.elements)) {
    if (!key.endsWith('[x]')) continue;
    const stem = key.slice(0, -3);
    if (!name.startsWith(stem)) continue;
    const suffix = name.slice(stem.length);
    const type = element.type.find((t) => t.code.toLowerCase() === suffix.toLowerCase());
    if (type !== undefined) return { key: name, type: type.code, isArray: false };
  }
  return undefined;
}

function primitiveValue(raw: string, type: string, path: string): unknown {
  if (type === 'boolean') {
    if (raw !== 'true' && raw !== 'false') fail(`${path}: "${raw.slice(0, 40)}" is not a boolean`);
    return raw === 'true';
  }
  if (NUMBER_TYPES.has(type)) {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) fail(`${path}: "${raw.slice(0, 40)}" is not a number`);
    return n;
  }
  return raw;
}

/** The XHTML text of a narrative `div` (raw inner text kept by the parser), unprefixed, with its namespace. */
function xhtmlOf(node: XmlNode, tag: string): string {
  const children = node[tag] as XmlNode[];
  const inner = children.map((c) => (typeof c['#text'] === 'string' ? c['#text'] : '')).join('');
  const prefix = tag.includes(':') ? tag.slice(0, tag.indexOf(':') + 1) : '';
  const body = prefix === '' ? inner : inner.replaceAll(`<${prefix}`, '<').replaceAll(`</${prefix}`, '</');
  const attributes = Object.entries(node[':@'] ?? {})
    .filter(([name]) => name !== 'xmlns' && !name.startsWith('xmlns:'))
    .map(([name, value]) => ` ${name}="${value.replaceAll('&', '&amp;').replaceAll('"', '&quot;')}"`)
    .join('');
  return `<div xmlns="${XHTML_NS}"${attributes}>${body}</div>`;
}

/** Converts the children of an element of `type` into a JSON object. */
function complex(
  children: readonly XmlNode[],
  attributes: Record<string, string>,
  type: string,
  path: string,
): Json {
  const schema = schemaOf(type);
  if (schema === undefined) fail(`${path}: unknown type ${type}`);
  const out: Json = {};
  if (attributes.id !== undefined) out.id = attributes.id;
  if (attributes.url !== undefined && (type === 'Extension' || schema.elements.url !== undefined))
    out.url = attributes.url;
  const put = (key: string, value: unknown, isArray: boolean, childPath: string) => {
    if (!isArray) {
      if (key in out) fail(`${childPath} appears twice but may appear once`);
      out[key] = value;
      return;
    }
    if (!(key in out)) out[key] = [];
    (out[key] as unknown[]).push(value);
  };
  const shadows = new Map<string, (Json | null)[]>();
  for (const child of children) {
    const tag = tagOf(child);
    if (tag === '#text' || tag === '') continue;
    const name = localName(tag);
    const childPath = `${path}.${name}`;
    const element = elementOf(schema, name);
    if (element === undefined) fail(`${childPath} is not an element of ${type}`);
    const childAttributes = child[':@'] ?? {};
    if (element.type === 'xhtml') {
      put(name, xhtmlOf(child, tag), element.isArray, childPath);
      continue;
    }
    const grandChildren = (child[tag] as XmlNode[]).filter((g) => tagOf(g) !== '#text');
    if (isPrimitive(element.type)) {
      const value =
        childAttributes.value === undefined
          ? null
          : primitiveValue(childAttributes.value, element.type, childPath);
      const shadow: Json = {};
      if (childAttributes.id !== undefined) shadow.id = childAttributes.id;
      const extensions = grandChildren.filter((g) => localName(tagOf(g)) === 'extension');
      if (extensions.length !== grandChildren.length) fail(`${childPath}: a primitive holds only extensions`);
      if (extensions.length > 0) {
        shadow.extension = extensions.map((e, i) =>
          complex(e[tagOf(e)] as XmlNode[], e[':@'] ?? {}, 'Extension', `${childPath}.extension[${i}]`),
        );
      }
      const hasShadow = Object.keys(shadow).length > 0;
      if (value === null && !hasShadow) fail(`${childPath} has neither a value nor extensions`);
      if (element.isArray) {
        // `_name` of a repeating primitive is aligned with its values (null where an occurrence has none).
        put(name, value, true, childPath);
        shadows.set(name, [...(shadows.get(name) ?? []), hasShadow ? shadow : null]);
      } else {
        if (value !== null) put(name, value, false, childPath);
        if (hasShadow) out[`_${name}`] = shadow;
      }
      continue;
    }
    if (element.type === 'Resource' || isResourceName(element.type)) {
      // <contained><Patient>…</Patient></contained>: the one child is the resource.
      const [inner, ...more] = grandChildren;
      if (inner === undefined || more.length > 0) fail(`${childPath} must hold exactly one resource`);
      put(name, resource(inner, childPath), element.isArray, childPath);
      continue;
    }
    put(
      name,
      complex(child[tag] as XmlNode[], childAttributes, element.type, childPath),
      element.isArray,
      childPath,
    );
  }
  for (const [name, list] of shadows) if (list.some((x) => x !== null)) out[`_${name}`] = list;
  return out;
}

function isResourceName(type: string): boolean {
  return tryGetDataType(type)?.kind === 'resource';
}

function resource(node: XmlNode, path: string): Json {
  const tag = tagOf(node);
  const type = localName(tag);
  const schema = tryGetDataType(type);
  if (schema === undefined || schema.kind !== 'resource')
    fail(`${path}: unknown resource type ${JSON.stringify(type)}`);
  // A resource's id is its <id> element; attributes of the root are namespaces only.
  return { resourceType: type, ...complex(node[tag] as XmlNode[], {}, type, type) };
}

/**
 * Converts a FHIR R4 XML resource (a Bundle or any resource) to its JSON form, for `validateFhir` /
 * `splitIntoRecords`. Needs the R4 definitions loaded (`loadR4Definitions`).
 *
 * @throws FhirImportError (`conversion`) naming the path of an unknown element, a bad primitive, a DOCTYPE, XML that
 *   is not well-formed or not in the FHIR namespace.
 * @example
 * const { records } = await splitIntoRecords({ input: fhirXmlToJson(await readFile('ips.xml', 'utf8')) });
 */
export function fhirXmlToJson(xml: string): Json {
  if (/<!DOCTYPE/iu.test(xml)) fail('a DOCTYPE declaration is not allowed (FHIR XML never has one)');
  const wellFormed = XMLValidator.validate(xml);
  if (wellFormed !== true)
    fail(
      `not well-formed XML: ${wellFormed.err.msg} (line ${wellFormed.err.line}, column ${wellFormed.err.col})`,
    );
  if (!isFhirXml(xml)) fail(`the root element is not in the FHIR namespace (${FHIR_NS})`);
  getDataType('Resource'); // throws when the definitions are not loaded
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    processEntities: true,
    htmlEntities: false,
    commentPropName: false,
    stopNodes: ['*.div'],
    ignoreDeclaration: true,
    ignorePiTags: true,
  });
  const nodes = parser.parse(xml) as XmlNode[];
  const root = nodes.find((n) => tagOf(n) !== '#text');
  if (root === undefined) fail('no root element');
  return resource(root, localName(tagOf(root)));
}
