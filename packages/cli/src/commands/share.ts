import { buildRecordIdTree, purposeOfUse, ScopeKind, signGrantForRelay } from '@carekey/sdk/chain';
import { encodeStanza, wrapFileKey, X25519Recipient } from '@carekey/sdk/crypto';
import { categoryTag, sessionCategoryKey } from '@carekey/sdk/fhir';
import { parseIdentityRef } from '@carekey/sdk/identity';
import type { Command } from 'commander';
import { type Hex, isAddressEqual } from 'viem';
import type { LocalRecord } from '../home/recordStore.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { progress } from '../io/progress.ts';
import { identityLine } from './credentialTrust.ts';
import { openSession, type Session } from './openSession.ts';
import { parseDuration } from './parseDuration.ts';
import { resolveRecordRef } from './resolveRecordRef.ts';
import { signatureContext } from './signatureContext.ts';
import { waitFor } from './waitFor.ts';

export type ShareOptions = {
  records: readonly string[];
  category?: string | undefined;
  /** Several categories at once (`requests approve` of a category request). */
  categories?: readonly string[] | undefined;
  all?: boolean | undefined;
  with: string;
  purpose: string;
  expires: string;
  /** The access request this grant answers (`requests approve`). */
  requestId?: Hex | undefined;
  /** Wait until the grant is active on the ledger (default true). */
  wait?: boolean | undefined;
};

export type ShareResult = {
  grantee: string;
  /** EIP-712 digest of the signed grant (the grant id appears in `carekey grants` once it is on the ledger). */
  grantDigest: Hex;
  /** The grant id, once active on the ledger (absent with `--no-wait`). */
  grantId?: Hex | undefined;
  scope: 'all' | 'categories' | 'records';
  categories: string[];
  recordIds: Hex[];
  purpose: string;
  expiresAt: string;
  node: unknown;
};

/** Picks the records a share covers from my index; nothing is chosen twice, shredded records never. */
function select(
  mine: readonly LocalRecord[],
  options: ShareOptions,
): { scope: ShareResult['scope']; chosen: LocalRecord[]; categories: string[] } {
  const wanted = options.categories ?? (options.category === undefined ? undefined : [options.category]);
  const given = [options.records.length > 0, wanted !== undefined, options.all === true].filter(Boolean);
  if (given.length !== 1) {
    throw new CliError('say what to share: record ids, --category <category>, or --all (one of them)');
  }
  const active = mine.filter((r) => r.state === 'active');
  if (options.all) return { scope: 'all', chosen: active, categories: [] };
  if (wanted !== undefined) {
    const c = wanted.join(', ');
    const chosen = active.filter((r) =>
      wanted.some((w) => r.category === w || (!w.includes('|') && r.resourceType === w)),
    );
    if (chosen.length === 0)
      throw new CliError(`no record of category '${c.slice(0, 60)}'`, { hint: 'see `carekey ls`' });
    const categories = [...new Set(chosen.map((r) => r.category))].sort();
    if (categories.length > 64)
      throw new CliError(`category '${c}' spans ${categories.length} categories; at most 64`);
    return { scope: 'categories', chosen, categories };
  }
  const chosen = [
    ...new Map(
      options.records.map((ref) => {
        const r = resolveRecordRef(ref, mine);
        if (r.state !== 'active')
          throw new CliError(`record ${r.recordId} is ${r.state.replace('_', ' ')}: it cannot be shared`);
        return [r.recordId, r] as const;
      }),
    ).values(),
  ];
  return { scope: 'records', chosen, categories: [] };
}

/**
 * Shares records (docs/protocol.md flow 2): unwraps my own file keys (from my wallet folder), wraps each to the
 * grantee's X25519 key from its DID, signs the `Grant` and `POST /v1/grants` with the grantee's stanzas. O(records)
 * key wraps, no payload pass.
 */
export async function share(session: Session, options: ShareOptions): Promise<ShareResult> {
  const { node, keys } = session;
  const description = await node.describe();
  const grantee = parseIdentityRef(options.with, { chainId: description.chainId });
  if (isAddressEqual(grantee, keys.address)) throw new CliError('you cannot share with yourself');
  const purpose = purposeOfUse(options.purpose.toUpperCase());
  const lifetime = parseDuration(options.expires);
  const mine = (await session.store.list(keys.identity)).filter((r) =>
    isAddressEqual(r.patient, keys.address),
  );
  const { scope, chosen, categories } = select(mine, options);
  const recipient = (await node.getDid(grantee)).recipient;
  const to = new X25519Recipient(recipient);
  progress(`wrapping ${chosen.length} file keys to ${grantee}`);
  const stanzas: { recordId: Hex; stanza: string }[] = [];
  for (const record of chosen) {
    if (!(await session.store.hasFile(record.recordId))) continue;
    const fileKey = await session.store.fileKey(record.recordId, keys.identity);
    stanzas.push({
      recordId: record.recordId,
      stanza: encodeStanza(await wrapFileKey({ fileKey, recipient: to })),
    });
    fileKey.fill(0);
  }
  const scopeKind =
    scope === 'all' ? ScopeKind.All : scope === 'categories' ? ScopeKind.Categories : ScopeKind.Records;
  const recordIds = chosen.map((r) => r.recordId);
  const scopeData: Hex[] =
    scope === 'all'
      ? []
      : scope === 'categories'
        ? await categoryTags(session, categories)
        : [buildRecordIdTree(recordIds).root];
  const context = await signatureContext({ session, contract: 'ConsentRegistry', identity: keys.address });
  const expiresAt = BigInt(Math.floor(Date.now() / 1000) + lifetime);
  const signed = await signGrantForRelay({
    account: session.account,
    chainId: description.chainId,
    verifyingContract: description.contracts.consentRegistry,
    nonce: context.nonce,
    deadline: context.deadline,
    grant: {
      patient: keys.address,
      grantee,
      scopeKind,
      scopeData,
      purpose,
      expiresAt,
      requestId: options.requestId,
    },
  });
  const answer = await node.createGrant({
    grant: signed.body,
    recipient,
    ...(scope === 'records' ? { scopeRecordIds: recordIds } : {}),
    stanzas,
  });
  await context.commit();
  let grantId: Hex | undefined;
  if (options.wait !== false) {
    grantId = await waitFor('the grant to be active on the ledger', async () => {
      const { grants, queued } = (await node.listGrants()) as Awaited<ReturnType<typeof node.listGrants>> & {
        queued?: { grantDigest: Hex; state: string }[];
      };
      if (queued?.some((q) => q.grantDigest === answer.grantDigest && q.state === 'failed')) {
        throw new CliError('the ledger refused the grant', {
          hint: '`carekey grants` shows what is in place',
        });
      }
      const grant = grants.find((g) => g.grantDigest === answer.grantDigest);
      return grant?.state === 'active' ? grant.grantId : undefined;
    });
  }
  return {
    grantee,
    grantDigest: answer.grantDigest,
    ...(grantId === undefined ? {} : { grantId }),
    scope,
    categories,
    recordIds: stanzas.map((s) => s.recordId),
    purpose: options.purpose.toUpperCase(),
    expiresAt: new Date(Number(expiresAt) * 1000).toISOString(),
    node: answer,
  };
}

/** `carekey share <records…> | --category <c> | --all --with <address|did> [--purpose TREAT] [--expires 7d]`. */
export function registerShare(program: Command): void {
  program
    .command('share')
    .description('share records with someone: by id, by --category, or --all; for a purpose, until an expiry')
    .argument('[records...]', 'record ids as `carekey ls` shows them')
    .requiredOption('--with <address|did>', 'who receives access')
    .option(
      '--category <category>',
      'every record of a category (e.g. Observation or Observation|laboratory)',
    )
    .option('--all', 'every record, including ones added later until the grant ends')
    .option('--purpose <code>', 'HL7 PurposeOfUse code, e.g. TREAT, ETREAT, HRESCH', 'TREAT')
    .option('--expires <duration>', 'how long the grant lasts: 30m, 12h, 7d, 2w', '7d')
    .option('--no-wait', 'return once the node has queued the grant, without waiting for the ledger')
    .option('--json', 'print JSON')
    .action(async (records: string[], options: Omit<ShareOptions, 'records'> & { json?: boolean }) => {
      parseIdentityRef(options.with); // a malformed address fails before anything else
      const session = await openSession();
      const result = await share(session, { ...options, records });
      const who = await identityLine(result.grantee as `0x${string}`); // docs/identity.md: the verified credential, or a warning
      output(options, { ...result, granteeIdentity: who }, () =>
        [
          `Shared ${result.scope === 'all' ? 'all your records' : `${result.recordIds.length} records`} with ${result.grantee}`,
          `  who      ${who}`,
          result.grantId === undefined
            ? `  grant    signed (${result.grantDigest.slice(0, 18)}…); its id shows in \`carekey grants\` once on the ledger`
            : `  grant    ${result.grantId} (active)`,
          `  purpose  ${result.purpose}`,
          `  until    ${result.expiresAt}`,
          `  They can open ${result.scope === 'categories' ? `your ${result.categories.join(', ')} records` : result.scope === 'all' ? 'every record you have, and records added before the grant ends' : 'exactly these records'}, nothing else. Revoke any time: carekey revoke <grant>.`,
        ].join('\n'),
      );
    });
}

/** The category tags of a category share: the identity's category key, the same across rotations. */
async function categoryTags(session: Session, categories: readonly string[]): Promise<Hex[]> {
  const patientSalt = await sessionCategoryKey(session);
  return categories.map((category) => categoryTag({ patientSalt, category }));
}
