import {
  buildIpsDocument,
  buildPatientIndex,
  ClinicalError,
  type SourcedResource,
} from '@carekey/sdk/clinical';
import { decodeStanza, encodeStanza, unwrapFileKey, wrapFileKey, X25519Recipient } from '@carekey/sdk/crypto';
import {
  createEmergencyClient,
  type EmergencyClient,
  type EmergencyInfo,
  type EmergencyPolicyName,
  type EmergencyPolicyState,
  parseEmergencyPolicy,
} from '@carekey/sdk/emergency';
import { canonicalJson } from '@carekey/sdk/fhir';
import type { Hex } from 'viem';
import { PortalError } from './errors.ts';
import { publishOwnRecords } from './importFhir.ts';
import { isEmergencySummary, type PortalRecord, type Resource } from './records.ts';
import type { Session } from './session.ts';

export type { EmergencyPolicyName };

export function emergencyClient(session: Session): EmergencyClient {
  return createEmergencyClient({ node: session.node, account: session.account });
}

/** What the Emergency view shows: the policy on chain and what the node keeps for a break-glass. */
export type EmergencyState = { info: EmergencyInfo; state: EmergencyPolicyState };

export async function readEmergency(session: Session): Promise<EmergencyState> {
  const api = emergencyClient(session);
  const [info, state] = await Promise.all([api.info(), api.policy(session.identity)]);
  return { info, state };
}

/** My records as the SDK's patient index wants them (the summary records themselves left out). */
function sourced(records: readonly PortalRecord[], me: string): SourcedResource[] {
  return records.flatMap((r) =>
    r.resource === undefined || r.state !== 'active' || isEmergencySummary(r.resource)
      ? []
      : [
          {
            resource: r.resource as never,
            source: {
              custodian: r.publisher,
              recordId: r.recordId,
              ...(r.publisher.toLowerCase() === me.toLowerCase() ? { custodianName: 'you' } : {}),
            },
          },
        ],
  );
}

/**
 * The emergency summary (an International Patient Summary: patient, allergies, medications, problems…) built from
 * my records by the SDK, exactly as `carekey emergency refresh` builds it: what a clinician who breaks the glass
 * sees under policy `summary`.
 *
 * @throws PortalError when my records hold no Patient resource (nothing to summarise yet).
 */
export function buildEmergencySummary(records: readonly PortalRecord[], me: string): Resource {
  try {
    return buildIpsDocument({
      index: buildPatientIndex({ records: sourced(records, me) }),
    }) as unknown as Resource;
  } catch (error) {
    if (error instanceof ClinicalError)
      throw new PortalError(
        'An emergency summary needs your records first (at least the Patient record of a Synthea or IPS file): import them, then choose again. Nothing was changed.',
      );
    throw error;
  }
}

/** One section of a summary, as lines a person reads (the preview "what a clinician sees"). */
export type SummarySection = { title: string; lines: string[] };

function conceptText(value: unknown): string | undefined {
  const c = value as { text?: string; coding?: { display?: string; code?: string }[] } | undefined;
  return c?.text ?? c?.coding?.[0]?.display ?? c?.coding?.[0]?.code;
}

/** A summary entry in words (its code's text, a value, a criticality). */
function entryText(resource: Resource | undefined): string {
  if (resource === undefined) return '(missing entry)';
  const r = resource as Resource & {
    code?: unknown;
    medicationCodeableConcept?: unknown;
    vaccineCode?: unknown;
    valueQuantity?: { value?: number; unit?: string };
    valueCodeableConcept?: unknown;
    criticality?: string;
    name?: { text?: string; family?: string; given?: string[] }[];
    birthDate?: string;
  };
  if (r.resourceType === 'Patient') {
    const name = r.name?.[0];
    const full = name?.text ?? [...(name?.given ?? []), name?.family ?? ''].join(' ').trim();
    return `${full}${r.birthDate ? `, born ${r.birthDate}` : ''}`;
  }
  let text = conceptText(r.code ?? r.medicationCodeableConcept ?? r.vaccineCode) ?? r.resourceType;
  if (r.valueQuantity?.value !== undefined)
    text += `: ${r.valueQuantity.value} ${r.valueQuantity.unit ?? ''}`.trimEnd();
  const value = conceptText(r.valueCodeableConcept);
  if (value !== undefined) text += `: ${value}`;
  if (r.criticality !== undefined) text += ` (criticality ${r.criticality})`;
  return text;
}

/** The summary's sections (the patient first), each entry in words. */
export function summarySections(ips: Resource): SummarySection[] {
  const entries = (ips.entry ?? []) as { fullUrl?: string; resource?: Resource }[];
  const byUrl = new Map(entries.map((e) => [e.fullUrl, e.resource] as const));
  const composition = entries[0]?.resource as
    | { subject?: { reference?: string }; section?: { title?: string; entry?: { reference?: string }[] }[] }
    | undefined;
  const out: SummarySection[] = [];
  const subject = composition?.subject?.reference;
  if (subject !== undefined) out.push({ title: 'Patient', lines: [entryText(byUrl.get(subject))] });
  for (const section of composition?.section ?? []) {
    const lines = (section.entry ?? []).map((e) => entryText(byUrl.get(e.reference)));
    out.push({ title: section.title ?? 'Section', lines: lines.length === 0 ? ['None recorded'] : lines });
  }
  return out;
}

export type SetPolicyResult = {
  policy: EmergencyPolicyName;
  /** Queued in the node's outbox rather than mined yet. */
  queued: boolean;
  /** The summary record published (policy summary / all). */
  summary: PortalRecord | undefined;
  /** Other records wrapped to the emergency key (policy all). */
  records: number;
};

/**
 * Sets my break-glass policy and keeps the node's emergency material to match (as `carekey emergency policy`):
 * the summary is built and checked first (nothing is signed when it cannot be); then a signed `PolicyChange`
 * relayed on chain; then `off` deletes every emergency stanza on the node, `summary` publishes the summary as a
 * record of my own and wraps its file key to the node's emergency key, `all` also wraps every other active record.
 */
export async function setEmergencyPolicy(
  session: Session,
  parameters: {
    policy: string;
    records: readonly PortalRecord[];
    onProgress?: (text: string) => void;
  },
): Promise<SetPolicyResult> {
  parseEmergencyPolicy(parameters.policy);
  const policy = parameters.policy as EmergencyPolicyName;
  const api = emergencyClient(session);
  const ips = policy === 'off' ? undefined : buildEmergencySummary(parameters.records, session.identity);
  parameters.onProgress?.('Signing your choice and recording it on the ledger…');
  const set = await api.setPolicy({ patient: session.identity, policy });
  const queued = set.status === 'queued';
  if (ips === undefined) {
    parameters.onProgress?.('Removing every emergency key from the node…');
    await api.putStanzas({ summary: null, records: [] });
    return { policy, queued, summary: undefined, records: 0 };
  }
  const info = await api.info();
  const json = canonicalJson(ips as never);
  parameters.onProgress?.('Publishing your emergency summary as an encrypted record…');
  const [summary] = await publishOwnRecords(session, [{ json, category: 'Bundle', resource: ips }]);
  if (summary?.stanza === undefined) throw new PortalError('The summary could not be published.');
  const to = new X25519Recipient(info.recipient);
  const wrap = async (record: PortalRecord) => {
    const fileKey = await unwrapFileKey({
      stanzas: [decodeStanza(record.stanza as string)],
      identities: [session.keys.identity],
    });
    try {
      return {
        recordId: record.recordId as Hex,
        stanza: encodeStanza(await wrapFileKey({ fileKey, recipient: to })),
      };
    } finally {
      fileKey.fill(0);
    }
  };
  const others =
    policy === 'all'
      ? parameters.records.filter(
          (r) =>
            r.state === 'active' &&
            r.stanza !== undefined &&
            r.resource !== undefined &&
            !isEmergencySummary(r.resource),
        )
      : [];
  parameters.onProgress?.(`Wrapping ${others.length + 1} key(s) to the node's emergency key…`);
  const records = [];
  for (const r of others) records.push(await wrap(r));
  await api.putStanzas({ summary: await wrap(summary), records });
  return { policy, queued, summary, records: records.length };
}
