import { readFile, writeFile } from 'node:fs/promises';
import { buildIpsDocument, ClinicalError } from '@carekey/sdk/clinical';
import {
  decodeStanza,
  decryptPayload,
  encodeStanza,
  unwrapFileKey,
  wrapFileKey,
  X25519Recipient,
} from '@carekey/sdk/crypto';
import {
  createEmergencyClient,
  type EmergencyClient,
  type EmergencyPolicyName,
  parseEmergencyPolicy,
} from '@carekey/sdk/emergency';
import { canonicalJson, sha256Hex } from '@carekey/sdk/fhir';
import { createIdentityClient, parseIdentityRef, presentCredential } from '@carekey/sdk/identity';
import type { Bundle, Composition, Resource } from '@medplum/fhirtypes';
import type { Command } from 'commander';
import { type Address, bytesToHex, type Hex, isAddressEqual } from 'viem';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { progress } from '../io/progress.ts';
import { openSession, type Session } from './openSession.ts';
import { publishItems } from './publishFhir.ts';
import { readPatientIndex } from './readPatientIndex.ts';

/** The `source` of emergency summary records in the local index (kept out of the `all` set and the next summary). */
export const EMERGENCY_SUMMARY_SOURCE = 'emergency summary';

export function emergencyClientOf(session: Session): EmergencyClient {
  return createEmergencyClient({ node: session.node, account: session.account });
}

export type RefreshEmergencyReturnType = {
  policy: EmergencyPolicyName;
  summaryRecordId: Hex | null;
  /** Other records wrapped to the emergency key (policy `all`). */
  records: number;
  sections: { title: string | undefined; entries: number }[];
};

/**
 * Keeps the patient's emergency material on the node current (docs/emergency.md): policy `off` removes every
 * emergency stanza; `summary` / `all` build an International Patient Summary from the patient's records, publish
 * it as a record of its own and wrap its file key to the node's emergency key; `all` also wraps every other active
 * record the patient holds. Runs on `carekey emergency refresh`, after `emergency policy` and after `import`.
 */
export async function refreshEmergency(session: Session): Promise<RefreshEmergencyReturnType> {
  const api = emergencyClientOf(session);
  const self = session.keys.address;
  const [info, state] = await Promise.all([api.info(), api.policy(self)]);
  if (state.policy === 'off') {
    await api.putStanzas({ summary: null, records: [] });
    return { policy: 'off', summaryRecordId: null, records: 0, sections: [] };
  }
  const { index } = await readPatientIndex({ session });
  let ips: Bundle;
  try {
    ips = buildIpsDocument({ index });
  } catch (error) {
    if (error instanceof ClinicalError) {
      throw new CliError(error.shortMessage, {
        cause: error,
        hint: 'import your records first (carekey import <file>)',
      });
    }
    throw error;
  }
  // Canonical JSON, hashed as every record is: the gateway store checks it on sync.
  const canonical = canonicalJson(ips as never);
  const plaintext = new TextEncoder().encode(canonical);
  const recordId = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
  progress('publishing the emergency summary (IPS) as a record');
  await publishItems({
    session,
    patient: self,
    items: [
      {
        recordId,
        resourceType: 'Bundle',
        fhirId: ips.id ?? recordId.slice(2, 18),
        category: 'Bundle',
        clinicalDate: ips.timestamp,
        sha256: sha256Hex(canonical),
        plaintext,
      },
    ],
    source: EMERGENCY_SUMMARY_SOURCE,
  });
  const to = new X25519Recipient(info.recipient);
  const wrap = async (id: Hex) => {
    const fileKey = await session.store.fileKey(id, session.keys.identity);
    const stanza = encodeStanza(await wrapFileKey({ fileKey, recipient: to }));
    fileKey.fill(0);
    return { recordId: id, stanza };
  };
  const records: { recordId: Hex; stanza: string }[] = [];
  if (state.policy === 'all') {
    const mine = (await session.store.list(session.keys.identity)).filter(
      (r) =>
        isAddressEqual(r.patient, self) &&
        r.state === 'active' &&
        r.source !== EMERGENCY_SUMMARY_SOURCE &&
        r.recordId !== recordId,
    );
    for (const r of mine) if (await session.store.hasFile(r.recordId)) records.push(await wrap(r.recordId));
  }
  progress(`wrapping ${records.length + 1} file key(s) to the node's emergency key`);
  await api.putStanzas({ summary: await wrap(recordId), records });
  const composition = ips.entry?.[0]?.resource as Composition | undefined;
  return {
    policy: state.policy,
    summaryRecordId: recordId,
    records: records.length,
    sections: (composition?.section ?? []).map((s) => ({ title: s.title, entries: s.entry?.length ?? 0 })),
  };
}

/** The text a reader sees for one summary entry (its code's text or first display). */
function entryText(resource: Resource | undefined): string {
  if (resource === undefined) return '(missing entry)';
  const r = resource as {
    code?: { text?: string; coding?: { display?: string; code?: string }[] };
    medicationCodeableConcept?: { text?: string; coding?: { display?: string }[] };
    vaccineCode?: { text?: string; coding?: { display?: string }[] };
    valueQuantity?: { value?: number; unit?: string };
    valueCodeableConcept?: { text?: string; coding?: { display?: string }[] };
    clinicalStatus?: { coding?: { code?: string }[] };
    criticality?: string;
    name?: { text?: string; family?: string; given?: string[] }[];
    birthDate?: string;
    telecom?: { value?: string }[];
  };
  const concept = r.code ?? r.medicationCodeableConcept ?? r.vaccineCode;
  let text = concept?.text ?? concept?.coding?.[0]?.display ?? resource.resourceType;
  if (resource.resourceType === 'Patient') {
    const name = r.name?.[0];
    text = `${name?.text ?? [...(name?.given ?? []), name?.family ?? ''].join(' ').trim()}${r.birthDate ? `, born ${r.birthDate}` : ''}`;
  }
  if (r.valueQuantity?.value !== undefined)
    text += `: ${r.valueQuantity.value} ${r.valueQuantity.unit ?? ''}`.trimEnd();
  const value = r.valueCodeableConcept?.text ?? r.valueCodeableConcept?.coding?.[0]?.display;
  if (value !== undefined) text += `: ${value}`;
  if (r.criticality !== undefined) text += ` (criticality ${r.criticality})`;
  const status = r.clinicalStatus?.coding?.[0]?.code;
  if (status !== undefined && status !== 'active') text += ` [${status}]`;
  return text;
}

/** The summary as lines: each section of the IPS Composition and its entries. */
export function summaryLines(ips: Bundle): string[] {
  const byUrl = new Map((ips.entry ?? []).map((e) => [e.fullUrl, e.resource] as const));
  const composition = ips.entry?.[0]?.resource as Composition | undefined;
  const subject = composition?.subject?.reference;
  const lines = subject === undefined ? [] : [`patient  ${entryText(byUrl.get(subject))}`];
  for (const section of composition?.section ?? []) {
    lines.push(`${section.title ?? 'section'} (${section.entry?.length ?? 0})`);
    for (const entry of section.entry ?? []) lines.push(`  - ${entryText(byUrl.get(entry.reference))}`);
    if ((section.entry ?? []).length === 0) lines.push('  (none recorded)');
  }
  return lines;
}

type OpenOptions = { reason?: string; credential?: string; all?: boolean; out?: string; json?: boolean };

/** `carekey emergency policy|refresh|open` (docs/emergency.md). */
export function registerEmergency(program: Command): void {
  const emergency = program
    .command('emergency')
    .description('break-glass: your emergency policy and summary; as a clinician, open a patient’s summary');

  emergency
    .command('policy')
    .description('set who may break the glass on your records: off, summary (the IPS only) or all')
    .argument('<policy>', 'off | summary | all')
    .option('--json', 'print JSON')
    .action(async (value: string, options: { json?: boolean }) => {
      parseEmergencyPolicy(value); // refuse before the passphrase
      const session = await openSession();
      progress(`setting the emergency policy to ${value} (signed, relayed on chain)`);
      const set = await emergencyClientOf(session).setPolicy({ policy: value as EmergencyPolicyName });
      const refreshed = await refreshEmergency(session);
      output(
        options,
        { ...refreshed, status: set.status, transactionHash: set.transactionHash ?? null },
        () =>
          refreshed.policy === 'off'
            ? 'Emergency access is off: nobody can break the glass; no emergency summary is kept on the node.'
            : [
                `Emergency policy: ${refreshed.policy}${set.status === 'queued' ? ' (queued on chain)' : ''}.`,
                `A credentialed clinician may open ${refreshed.policy === 'all' ? `your summary and ${refreshed.records} other records` : 'your emergency summary'} without you, for 24 h at most; you and your guardians are told at once.`,
                `The node operator holds the emergency key that opens it (docs/emergency.md).`,
              ].join('\n'),
      );
    });

  emergency
    .command('refresh')
    .description('rebuild your emergency summary from your records and wrap it to the node’s emergency key')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const session = await openSession();
      const refreshed = await refreshEmergency(session);
      output(options, refreshed, () =>
        refreshed.policy === 'off'
          ? 'Emergency policy is off: nothing kept (set one with `carekey emergency policy summary`).'
          : [
              `Emergency summary refreshed (policy ${refreshed.policy}): record ${refreshed.summaryRecordId}${refreshed.policy === 'all' ? `, and ${refreshed.records} other records` : ''}.`,
              ...refreshed.sections.map((s) => `  ${String(s.entries).padStart(4)}  ${s.title}`),
            ].join('\n'),
      );
    });

  emergency
    .command('open')
    .description(
      'as a credentialed clinician: break the glass on a patient’s emergency summary (purpose ETREAT)',
    )
    .argument('<patient>', 'the patient (address or did:ethr)')
    .requiredOption(
      '--reason <text>',
      'why (kept in the patient’s access log, shown to them; never on chain)',
    )
    .option('--credential <file>', 'your SD-JWT VC (from `carekey credential issue`)')
    .option('--all', 'everything the patient allows (policy all), not only the summary')
    .option('--out <file>', 'also write the summary (IPS JSON) here')
    .option('--json', 'print JSON')
    .action(async (patientRef: string, options: OpenOptions) => {
      const patient: Address = parseIdentityRef(patientRef);
      const reason = (options.reason ?? '').trim();
      if (reason === '' || reason.length > 500) throw new CliError('--reason must be 1 to 500 characters');
      const credential =
        options.credential === undefined
          ? undefined
          : await readFile(options.credential, 'utf8').then(
              (t) => t.trim(),
              (cause: unknown) => {
                throw new CliError(`cannot read ${options.credential}`, { cause, hint: 'check the path' });
              },
            );
      const session = await openSession();
      let presentation: string | undefined;
      if (credential !== undefined) {
        progress('presenting your credential to the node');
        const challenge = await createIdentityClient({ url: session.node.url }).challenge();
        presentation = await presentCredential({
          credential,
          disclose: ['role', 'specialty', 'organisation'],
          privateKey: session.keys.privateKey,
          audience: challenge.audience,
          nonce: challenge.nonce,
        });
      }
      progress('breaking the glass (purpose ETREAT)');
      const access = await emergencyClientOf(session).open({
        patient,
        reason,
        recipient: session.keys.recipient,
        presentation,
        scope: options.all ? 2 : 1,
      });
      const decrypted: { recordId: Hex; summary: boolean; resource: unknown }[] = [];
      for (const record of access.records) {
        const payload = await session.node.getBlob(record.blobId);
        const fileKey = await unwrapFileKey({
          stanzas: [decodeStanza(record.stanza)],
          identities: [session.keys.identity],
        });
        const text = new TextDecoder().decode(decryptPayload({ fileKey, payload }));
        fileKey.fill(0);
        decrypted.push({ recordId: record.recordId, summary: record.summary, resource: JSON.parse(text) });
      }
      const summary = decrypted.find((d) => d.summary)?.resource as Bundle | undefined;
      if (options.out !== undefined && summary !== undefined) {
        await writeFile(options.out, `${JSON.stringify(summary, null, 2)}\n`, { mode: 0o600 });
      }
      output(
        options,
        {
          accessId: access.accessId,
          patient: access.patient,
          scope: access.scope,
          expiresAt: access.expiresAt,
          summary: summary ?? null,
          records: decrypted
            .filter((d) => !d.summary)
            .map((d) => ({ recordId: d.recordId, resource: d.resource })),
        },
        () =>
          [
            `EMERGENCY ACCESS ${access.accessId.slice(0, 10)}… to ${access.patient} until ${access.expiresAt} (logged, on chain, the patient is notified)`,
            ...(summary === undefined ? ['(no summary)'] : summaryLines(summary)),
            ...(decrypted.length > 1
              ? [`and ${decrypted.length - 1} other records (use --json or --out)`]
              : []),
          ].join('\n'),
      );
    });
}
