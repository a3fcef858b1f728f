import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CLINICIAN_CLAIMS,
  type ClinicianClaim,
  CredentialError,
  createIdentityClient,
  issueCredential,
  parseIdentityRef,
  presentCredential,
  resolveDid,
  STATUS_REVOKED,
  signingKidFor,
  signStatusList,
  toDid,
  verifyPresentation,
} from '@carekey/sdk/identity';
import type { Command } from 'commander';
import { type Address, isAddressEqual } from 'viem';
import { carekeyHome } from '../home/carekeyHome.ts';
import { readWalletPublic } from '../home/walletStore.ts';
import { writeFileAtomic } from '../home/writeFileAtomic.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { describeIdentity, openCredentialTrust } from './credentialTrust.ts';
import { nodeUrl, openSession, type Session } from './openSession.ts';
import { parseDuration } from './parseDuration.ts';

/** The issuer's Token Status List, kept in `<home>/issuer/status-list.json` (one list; index = issue order). */
type IssuerState = { listId: string; uri: string; issuerName: string; statuses: number[]; iat?: number };

/** Who signs: the issuer DID and the verification method (`kid`) this wallet's key signs it with. */
type Signer = { session: Session; issuer: Address; did: string; kid: string };

/** The issuer's own identity keeps `issuer/status-list.json`; a DID this key signs for as a delegate its own file. */
function statePath(signer: Signer): string {
  const own = isAddressEqual(signer.issuer, signer.session.keys.address);
  return join(carekeyHome().dir, 'issuer', own ? 'status-list.json' : `${signer.issuer}.status-list.json`);
}

async function readState(signer: Signer): Promise<IssuerState | undefined> {
  try {
    return JSON.parse(await readFile(statePath(signer), 'utf8')) as IssuerState;
  } catch {
    return undefined;
  }
}

/**
 * The key of this wallet signs for the issuer DID (`--issuer`, default the wallet's identity) as `#controller`
 * when it is the DID's owner or the key its ERC-1271 owner (a RecoveryAccount) acts for, else as the veriKey or
 * sigAuth delegate the DID document lists for it.
 *
 * @throws {CliError} the key cannot sign for that DID (nothing is signed).
 */
async function openSigner(ref: string | undefined): Promise<Signer & { chainId: number }> {
  const session = await openSession();
  const { chainId } = await session.node.describe();
  const issuer = ref === undefined ? session.keys.address : parseIdentityRef(ref, { chainId });
  const did = toDid({ address: issuer, chainId });
  const info = await session.node.getDidNonce(issuer);
  const actingKey = info.account?.controller ?? info.owner;
  let kid = signingKidFor({ did, key: session.account.address, actingKey, relationship: 'assertionMethod' });
  if (kid === undefined) {
    const trust = await openCredentialTrust();
    const resolved = await resolveDid({ resolver: trust.resolver, did }).catch(refused);
    kid = signingKidFor({
      did,
      key: session.account.address,
      actingKey,
      document: resolved.document,
      relationship: 'assertionMethod',
    });
  }
  if (kid === undefined) {
    throw new CliError(`this wallet's key ${session.account.address} cannot sign for ${did}`, {
      hint: `its owner can make it a delegate: \`carekey did delegate add ${session.account.address} --type veriKey\``,
    });
  }
  return { session, issuer, did, kid, chainId };
}

async function publish(signer: Signer, state: IssuerState): Promise<void> {
  // Each list must be newer than the last (the node keeps the latest iat): two updates in one second still count.
  state.iat = Math.max(Math.floor(Date.now() / 1000), (state.iat ?? 0) + 1);
  const jwt = signStatusList({
    iat: state.iat,
    issuerDid: signer.did,
    privateKey: signer.session.keys.privateKey,
    kid: signer.kid,
    uri: state.uri,
    statuses: state.statuses,
  });
  await createIdentityClient({ url: nodeUrl() }).publishStatusList(jwt);
  await mkdir(join(carekeyHome().dir, 'issuer'), { recursive: true });
  await writeFileAtomic(statePath(signer), `${JSON.stringify(state, null, 2)}\n`);
}

function parseDisclose(list: string): ClinicianClaim[] {
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '')
    .map((n) => (n === 'org' ? 'organisation' : n === 'license' ? 'licence' : n));
  for (const name of names) {
    if (!(CLINICIAN_CLAIMS as readonly string[]).includes(name)) {
      throw new CliError(`unknown claim '${name.slice(0, 40)}'`, {
        hint: `disclose any of ${CLINICIAN_CLAIMS.join(', ')} (org)`,
      });
    }
  }
  return names as ClinicianClaim[];
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    throw new CliError(`cannot read ${what} '${file}'`);
  }
}

function refused(error: unknown): never {
  if (error instanceof CredentialError) {
    throw new CliError(`credential refused (${error.reason}): ${error.shortMessage}`);
  }
  throw error;
}

function credentialStatusIdx(credential: string): number {
  try {
    const payload = JSON.parse(
      Buffer.from(credential.split('~')[0]?.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as {
      status?: { status_list?: { idx?: unknown } };
    };
    const idx = payload.status?.status_list?.idx;
    if (typeof idx === 'number') return idx;
  } catch {}
  throw new CliError('not a Carekey credential (no status list entry)');
}

/** `carekey credential issue|revoke|present|verify`: SD-JWT VC provider credentials (docs/identity.md). */
export function registerCredential(program: Command): void {
  const credential = program
    .command('credential')
    .description('provider credentials: issue, revoke, present, verify');
  credential
    .command('issue')
    .description('as an issuer, issue a clinician credential (each claim selectively disclosable)')
    .requiredOption('--to <did>', "the clinician's DID (or address)")
    .requiredOption('--role <role>', 'e.g. physician, nurse')
    .requiredOption('--licence <number>', 'licence number')
    .requiredOption('--specialty <specialty>', 'e.g. cardiology')
    .requiredOption('--org <organisation>', 'e.g. Hospital X')
    .option('--issuer-name <name>', 'how patients see you ("verified by …"); remembered')
    .option(
      '--issuer <did>',
      'issue for this DID, whose document lists your key as a delegate (default: your own identity)',
    )
    .option('--expires <duration>', 'validity', '365d')
    .option('--out <file>', 'write the credential here (default: stdout)')
    .option('--json', 'print JSON')
    .action(
      async (options: {
        to: string;
        role: string;
        licence: string;
        specialty: string;
        org: string;
        issuerName?: string;
        issuer?: string;
        expires: string;
        out?: string;
        json?: boolean;
      }) => {
        const lifetime = parseDuration(options.expires);
        const signer = await openSigner(options.issuer);
        const { chainId } = signer;
        const subject = parseIdentityRef(options.to, { chainId });
        const previous = await readState(signer);
        const listId = previous?.listId ?? randomBytes(8).toString('hex');
        const state: IssuerState = {
          listId,
          uri: previous?.uri ?? `${nodeUrl()}/v1/status-lists/${signer.issuer}/${listId}`,
          issuerName: options.issuerName ?? previous?.issuerName ?? signer.did,
          statuses: [...(previous?.statuses ?? []), 0],
          ...(previous?.iat === undefined ? {} : { iat: previous.iat }),
        };
        const idx = state.statuses.length - 1;
        // The list goes out first: a credential whose status entry is not published could not be verified.
        await publish(signer, state);
        const issued = await issueCredential({
          issuerDid: signer.did,
          privateKey: signer.session.keys.privateKey,
          kid: signer.kid,
          issuerName: state.issuerName,
          subjectDid: toDid({ address: subject, chainId }),
          claims: {
            role: options.role,
            licence: options.licence,
            specialty: options.specialty,
            organisation: options.org,
          },
          status: { uri: state.uri, idx },
          expiresAt: Math.floor(Date.now() / 1000) + lifetime,
        });
        if (options.out !== undefined) await writeFile(options.out, `${issued}\n`, { mode: 0o600 });
        if (options.json)
          output(options, { credential: issued, index: idx, statusList: state.uri }, () => '');
        else if (options.out === undefined) process.stdout.write(`${issued}\n`);
        else
          process.stdout.write(
            `Issued credential #${idx} to ${toDid({ address: subject, chainId })} → ${options.out}\n`,
          );
      },
    );
  credential
    .command('revoke')
    .description('as an issuer, revoke a credential you issued (its status list entry becomes 1)')
    .argument('<file|index>', 'the credential file, or its index')
    .option('--issuer <did>', 'the DID you issued it for as a delegate (default: your own identity)')
    .option('--json', 'print JSON')
    .action(async (ref: string, options: { issuer?: string; json?: boolean }) => {
      const idx = /^\d+$/u.test(ref) ? Number(ref) : credentialStatusIdx(await readText(ref, 'credential'));
      const signer = await openSigner(options.issuer);
      const state = await readState(signer);
      if (state === undefined || idx >= state.statuses.length) {
        throw new CliError(`you issued no credential #${idx}`, {
          hint: 'revoke a credential this wallet issued',
        });
      }
      state.statuses[idx] = STATUS_REVOKED;
      await publish(signer, state);
      output(
        options,
        { revoked: idx, statusList: state.uri },
        () => `Revoked credential #${idx}; the status list on the node says so now.`,
      );
    });
  credential
    .command('present')
    .description('present your credential, disclosing only some claims, key-bound to your DID')
    .argument('<file>', 'the credential the issuer gave you')
    .requiredOption('--disclose <claims>', `comma-separated: ${CLINICIAN_CLAIMS.join(', ')} (org)`)
    .option(
      '--audience <did>',
      'the verifier (default: present to the node, which shows patients who you are)',
    )
    .option('--nonce <nonce>', "the verifier's challenge (with --audience)")
    .option('--out <file>', 'write the presentation here (with --audience)')
    .option('--json', 'print JSON')
    .action(
      async (
        file: string,
        options: { disclose: string; audience?: string; nonce?: string; out?: string; json?: boolean },
      ) => {
        const disclose = parseDisclose(options.disclose);
        const issued = await readText(file, 'credential');
        if ((options.audience === undefined) !== (options.nonce === undefined)) {
          throw new CliError('give --audience and --nonce together (or neither, to present to the node)');
        }
        const session = await openSession();
        if (options.audience !== undefined && options.nonce !== undefined) {
          const presentation = await presentCredential({
            credential: issued,
            disclose,
            privateKey: session.keys.privateKey,
            audience: options.audience,
            nonce: options.nonce,
          }).catch(refused);
          if (options.out !== undefined) await writeFile(options.out, `${presentation}\n`, { mode: 0o600 });
          if (options.out === undefined || options.json)
            output(options, { presentation }, () => presentation);
          else process.stdout.write(`Presentation for ${options.audience} → ${options.out}\n`);
          return;
        }
        const trust = await openCredentialTrust();
        const challenge = await trust.identity.challenge();
        const presentation = await presentCredential({
          credential: issued,
          disclose,
          privateKey: session.keys.privateKey,
          audience: challenge.audience,
          nonce: challenge.nonce,
        }).catch(refused);
        const shown = await trust.identity.present(presentation);
        output(
          options,
          shown,
          () => `The node verified your credential. Patients see you as: ${describeIdentity(shown)}`,
        );
      },
    );
  credential
    .command('verify')
    .description(
      'verify a presentation made for you: issuer trusted, signatures, key binding, status, expiry',
    )
    .argument('<file>', 'the presentation')
    .requiredOption('--nonce <nonce>', 'the challenge you gave the holder')
    .option('--audience <did>', 'who it must be for (default: your DID)')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { nonce: string; audience?: string; json?: boolean }) => {
      const presentation = await readText(file, 'presentation');
      const trust = await openCredentialTrust();
      const audience =
        options.audience ??
        toDid({ address: (await readWalletPublic(carekeyHome())).address, chainId: trust.chainId });
      const verified = await verifyPresentation({
        presentation,
        audience,
        nonce: options.nonce,
        ...trust,
      }).catch(refused);
      output(options, verified, () =>
        [
          `VALID credential of ${verified.subject}`,
          ...Object.entries(verified.claims).map(([name, value]) => `  ${name.padEnd(13)}${value}`),
          `  issuer       ${verified.issuerName} (${verified.issuer}, trusted)`,
          `  expires      ${new Date(verified.expiresAt * 1000).toISOString()}`,
          `  withheld     ${CLINICIAN_CLAIMS.filter((c) => !(c in verified.claims)).join(', ') || 'nothing'}`,
        ].join('\n'),
      );
    });
}
