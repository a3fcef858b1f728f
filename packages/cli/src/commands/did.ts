import { resolveDid } from '@carekey/sdk/identity';
import type { Command } from 'commander';
import { output } from '../io/output.ts';
import { openCredentialTrust } from './credentialTrust.ts';

/** `carekey did resolve <did>`: the DID document from the Carekey chain (ethr-did-resolver). */
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
}
