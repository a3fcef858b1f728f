import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeClient } from '@carekey/sdk/client';
import { categoryKeyToHex, putCategoryKeyEscrow, sessionCategoryKey } from '@carekey/sdk/fhir';
import { parseIdentityRef, resolveDid } from '@carekey/sdk/identity';
import { changeDid } from '@carekey/sdk/recovery';
import { generateMnemonic, newWalletSecrets, sealWallet, walletKeys } from '@carekey/sdk/wallet';
import type { Command } from 'commander';
import { isAddressEqual, stringToHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { RecordStore } from '../home/recordStore.ts';
import { saveNewWallet } from '../home/walletStore.ts';
import { writeFileAtomic } from '../home/writeFileAtomic.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { readSecret } from '../io/readSecret.ts';
import { openCredentialTrust } from './credentialTrust.ts';
import { nodeUrl, openSession, type Session } from './openSession.ts';
import { parseDuration } from './parseDuration.ts';
import { rekeyRecords } from './rekeyRecords.ts';
import { waitFor } from './waitFor.ts';

/** ERC-1056 delegate types Carekey names (`did:ethr`: sigAuth authenticates, veriKey verifies). */
const DELEGATE_TYPES = ['sigAuth', 'veriKey'] as const;

function delegateType(text: string | undefined) {
  const type = text ?? 'sigAuth';
  if (!(DELEGATE_TYPES as readonly string[]).includes(type)) {
    throw new CliError(`unknown delegate type '${type.slice(0, 20)}'`, { hint: 'use sigAuth or veriKey' });
  }
  return stringToHex(type, { size: 32 });
}

/**
 * `carekey did resolve <did>`: the DID document from the Carekey chain (ethr-did-resolver); `carekey did delegate
 * add|revoke <address>`; `carekey did rotate`: new keys for the same DID, the patient's stanzas re-wrapped.
 */
export function registerDid(program: Command): void {
  const did = program.command('did').description('DIDs on the Carekey chain');
  did
    .command('resolve')
    .description('resolve a did:ethr to its document: controller, delegates, X25519 key agreement keys')
    .argument('<did>', 'did:ethr:<chainId>:<address>')
    .option('--json', 'print the DID resolution result as JSON')
    .action(async (ref: string, options: { json?: boolean }) => {
      const trust = await openCredentialTrust();
      const resolved = await resolveDid({ resolver: trust.resolver, did: ref.trim() });
      const methods = resolved.document.verificationMethod ?? [];
      const delegates = methods.filter((m) => /#delegate-\d+$/u.test(m.id));
      output(
        options,
        {
          did: resolved.did,
          owner: resolved.owner,
          document: resolved.document,
          metadata: resolved.metadata,
        },
        () =>
          [
            `DID             ${resolved.did}`,
            `controller      ${resolved.owner}${resolved.metadata.versionId === undefined ? '' : `  (version ${resolved.metadata.versionId})`}`,
            `key agreement   ${resolved.keyAgreement.length === 0 ? 'none published' : resolved.keyAgreement.map((k) => `X25519 ${k.publicKeyBase64}`).join('\n                ')}`,
            `delegates       ${delegates.length === 0 ? 'none' : delegates.map((d) => d.blockchainAccountId ?? d.id).join(', ')}`,
          ].join('\n'),
      );
    });

  const delegate = did.command('delegate').description('add or revoke a delegate of your DID');
  delegate
    .command('add <address>')
    .description('let another key sign for your DID (did:ethr delegate) for a while')
    .option('--type <type>', 'sigAuth (default) or veriKey')
    .option('--validity <duration>', 'how long (default 30d)', '30d')
    .option('--json', 'print JSON')
    .action(async (ref: string, options: { type?: string; validity: string; json?: boolean }) => {
      const to = parseIdentityRef(ref);
      const type = delegateType(options.type);
      const validity = BigInt(parseDuration(options.validity));
      const session = await openSession();
      const receipt = await changeDid({
        node: session.node,
        account: session.account,
        identity: session.keys.address,
        change: { kind: 'addDelegate', delegateType: type, delegate: to, validity },
      });
      output(
        options,
        { delegate: to, type: options.type ?? 'sigAuth', validity: validity.toString(), receipt },
        () => `Delegate ${to} added to your DID for ${options.validity} (${options.type ?? 'sigAuth'}).`,
      );
    });
  delegate
    .command('revoke <address>')
    .description('revoke a delegate of your DID')
    .option('--type <type>', 'sigAuth (default) or veriKey')
    .option('--json', 'print JSON')
    .action(async (ref: string, options: { type?: string; json?: boolean }) => {
      const to = parseIdentityRef(ref);
      const type = delegateType(options.type);
      const session = await openSession();
      const receipt = await changeDid({
        node: session.node,
        account: session.account,
        identity: session.keys.address,
        change: { kind: 'revokeDelegate', delegateType: type, delegate: to },
      });
      output(options, { delegate: to, revoked: true, receipt }, () => `Delegate ${to} revoked.`);
    });

  did
    .command('rotate')
    .description(
      'replace your keys (a new recovery phrase): the old key can no longer act for your DID in any contract',
    )
    .option('--scrypt-log-n <n>', 'scrypt work factor of the new wallet file (default 18)', (v) => Number(v))
    .option('--json', 'print JSON')
    .action(async (options: { scryptLogN?: number; json?: boolean }) => {
      const session = await openSession();
      const identity = session.keys.address;
      const passphrase = await readSecret({ prompt: 'Passphrase: ', envVar: 'CAREKEY_PASSPHRASE' });
      const mnemonic = generateMnemonic();
      // The identity's category key goes with it (in the new wallet file, and escrowed to the new key below): tags
      // and category grants made before the rotation keep matching the records imported after it.
      const carried = await sessionCategoryKey(session);
      const secrets = newWalletSecrets({ mnemonic, categoryKey: categoryKeyToHex(carried) });
      const next = walletKeys(secrets);
      const logN = options.scryptLogN === undefined ? {} : { logN: options.scryptLogN };
      // The new wallet is on disk before the chain moves, so a crash in between cannot lock the identity out.
      const pending = join(session.home.dir, 'wallet.rotating.age');
      await writeFileAtomic(pending, await sealWallet({ secrets, passphrase, ...logN }));
      await changeDid({
        node: session.node,
        account: session.account,
        identity,
        change: { kind: 'changeOwner', newOwner: next.address },
      });
      const probe = createNodeClient({ url: nodeUrl() });
      await waitFor('the new key to take effect', async () => {
        const info = await probe.getDidNonce(identity);
        const acting = info.account?.controller ?? info.owner;
        return isAddressEqual(acting, next.address) ? true : undefined;
      });
      const account = privateKeyToAccount(next.privateKey);
      const rotated: Session = {
        ...session,
        keys: { ...next, address: identity },
        account,
        node: createNodeClient({ url: nodeUrl(), account, identity }),
        store: new RecordStore(session.home, next.recipient),
        heldCategoryKey: categoryKeyToHex(carried),
      };
      await rotated.node.publishEncryptionKey({ recipient: next.recipient });
      await putCategoryKeyEscrow(rotated.node, { key: carried, recipient: next.recipient });
      const result = await rekeyRecords({
        session: rotated,
        old: session.keys.identity,
        oldStore: session.store,
      });
      const facts = await saveNewWallet({
        home: session.home,
        secrets,
        passphrase,
        identity,
        replace: true,
        ...logN,
      });
      await rm(pending, { force: true });
      output(
        options,
        { ...facts, key: next.address, previousKey: session.account.address, mnemonic, ...result },
        () =>
          [
            `Your DID ${identity} now answers to the new key ${next.address}; the old key ${session.account.address}`,
            'can no longer grant, revoke, publish or ask for keys anywhere.',
            `  ${result.rewrapped} record key(s) re-wrapped to your new encryption key ${next.recipient}; the old ones were deleted.`,
            '  Your category key is kept (sealed to the new key): category shares keep covering new records.',
            '',
            'Your NEW recovery phrase (the old one is worthless now). Write it on paper and keep it safe:',
            '',
            `  ${mnemonic}`,
            '',
            'Your guardians hold shares of the old phrase: make new ones (`carekey guardians setup`).',
          ].join('\n'),
      );
    });
}
