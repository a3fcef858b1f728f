import { randomBytes } from 'node:crypto';
import { purposeOfUse, ScopeKind, signAccessRequestForRelay } from '@carekey/sdk/chain';
import { encrypt, X25519Recipient } from '@carekey/sdk/crypto';
import { parseIdentityRef } from '@carekey/sdk/identity';
import type { Command } from 'commander';
import { type Hex, isAddressEqual, keccak256 } from 'viem';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { progress } from '../io/progress.ts';
import { openSession, type Session } from './openSession.ts';
import { parseDuration } from './parseDuration.ts';
import { signatureContext } from './signatureContext.ts';
import { waitFor } from './waitFor.ts';

/**
 * What a requester tells the patient, sealed to the patient's X25519 key (the node only relays it). For a
 * category request the chain carries `keccak256` of these exact bytes: the categories cannot be read on chain
 * (the salt defeats guessing), and the patient's client checks the note it decrypts against the request.
 */
export type AccessRequestNote = { categories: string[]; reason: string; salt: Hex };

export type RequestAccessOptions = {
  patient: string;
  category?: string[] | undefined;
  all?: boolean | undefined;
  purpose: string;
  expires: string;
  reason?: string | undefined;
  wait?: boolean | undefined;
};

export type RequestAccessResult = {
  patient: string;
  requestDigest: Hex;
  /** The chain's request id (once on the ledger; absent with `--no-wait`). */
  requestId?: Hex | undefined;
  scope: 'all' | 'categories';
  categories: string[];
  purpose: string;
  expiresAt: string;
};

/**
 * Files an access request (docs/protocol.md flow 7): seals the note to the patient, signs `AccessRequest` with the
 * nonce the node gives, `POST /v1/requests`, and (unless `wait` is false) waits until the ledger has it.
 */
export async function requestAccess(
  session: Session,
  options: RequestAccessOptions,
): Promise<RequestAccessResult> {
  const { node, keys } = session;
  const categories = [...new Set(options.category ?? [])].sort();
  if (categories.length > 0 === (options.all === true)) {
    throw new CliError('say what you ask for: --category <category> (repeatable) or --all (one of them)');
  }
  for (const c of categories) {
    if (!/^[A-Za-z]{1,64}(\|[\w.-]{1,64})?$/u.test(c)) {
      throw new CliError(`malformed category '${c.slice(0, 60)}'`, {
        hint: 'e.g. Observation or Observation|laboratory',
      });
    }
  }
  const description = await node.describe();
  const patient = parseIdentityRef(options.patient, { chainId: description.chainId });
  if (isAddressEqual(patient, keys.address)) throw new CliError('you cannot ask yourself for access');
  const purpose = purposeOfUse(options.purpose.toUpperCase());
  const lifetime = parseDuration(options.expires);
  const reason = options.reason ?? '';
  if (reason.length > 2000) throw new CliError('--reason is longer than 2000 characters');
  const recipient = (await node.getDid(patient)).recipient;
  const note: AccessRequestNote = { categories, reason, salt: `0x${randomBytes(32).toString('hex')}` };
  const noteBytes = new TextEncoder().encode(JSON.stringify(note));
  const sealed = await encrypt({ recipients: [new X25519Recipient(recipient)], plaintext: noteBytes });
  const scopeKind = categories.length > 0 ? ScopeKind.Categories : ScopeKind.All;
  const scopeData: Hex[] = categories.length > 0 ? [keccak256(noteBytes)] : [];
  const context = await signatureContext({ session, contract: 'ConsentRegistry', identity: keys.address });
  const expiresAt = BigInt(Math.floor(Date.now() / 1000) + lifetime);
  const signed = await signAccessRequestForRelay({
    account: session.account,
    chainId: description.chainId,
    verifyingContract: description.contracts.consentRegistry,
    nonce: context.nonce,
    deadline: context.deadline,
    request: { requester: keys.address, patient, scopeKind, scopeData, purpose, expiresAt },
  });
  const answer = (await node.createAccessRequest({
    request: signed.body,
    sealed: Buffer.from(sealed).toString('base64'),
  })) as { requestDigest: Hex };
  let requestId: Hex | undefined;
  if (options.wait !== false) {
    requestId = await waitFor('the access request to reach the ledger', async () => {
      const { requests } = await node.listAccessRequests();
      const row = requests.find((r) => r.requestDigest === answer.requestDigest);
      if (row?.status === 'failed') throw new CliError('the ledger refused the access request');
      return typeof row?.requestId === 'string' ? (row.requestId as Hex) : undefined;
    });
  }
  return {
    patient,
    requestDigest: answer.requestDigest,
    ...(requestId === undefined ? {} : { requestId }),
    scope: categories.length > 0 ? 'categories' : 'all',
    categories,
    purpose: options.purpose.toUpperCase(),
    expiresAt: new Date(Number(expiresAt) * 1000).toISOString(),
  };
}

/** `carekey request-access --patient <address|did> (--category <c>… | --all) --purpose <code> --expires <d> [--reason]`. */
export function registerRequestAccess(program: Command): void {
  program
    .command('request-access')
    .description('as a provider: ask a patient for access to their records')
    .requiredOption('--patient <address|did>', 'whom you ask')
    .option(
      '--category <category>',
      'a category you ask for (repeatable)',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option('--all', 'ask for every record')
    .requiredOption('--purpose <code>', 'HL7 PurposeOfUse code, e.g. TREAT, ETREAT, HRESCH')
    .requiredOption('--expires <duration>', 'how long the access should last: 30m, 12h, 7d, 2w')
    .option('--reason <text>', 'why, for the patient (sealed to them; the node cannot read it)')
    .option('--no-wait', 'return once the node has queued it, without waiting for the ledger')
    .option('--json', 'print JSON')
    .action(async (options: RequestAccessOptions & { json?: boolean }) => {
      parseIdentityRef(options.patient); // a malformed address fails before anything else
      const session = await openSession();
      progress(`asking ${options.patient} for access`);
      const result = await requestAccess(session, options);
      output(options, result, () =>
        [
          `Asked ${result.patient} for ${result.scope === 'all' ? 'all their records' : result.categories.join(', ')} (${result.purpose}) until ${result.expiresAt}.`,
          result.requestId === undefined
            ? `  request  queued (${result.requestDigest.slice(0, 18)}…); it shows in \`carekey requests\` once on the ledger`
            : `  request  ${result.requestId}`,
        ].join('\n'),
      );
    });
}
