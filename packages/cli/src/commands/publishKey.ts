import { createNodeClient, NodeUnreachableError } from '@carekey/sdk/client';
import type { Command } from 'commander';
import type { LocalAccount } from 'viem';
import type { CarekeyHome } from '../home/carekeyHome.ts';
import { didOf, readNodeFacts, saveNodeFacts } from '../home/nodeFacts.ts';
import { output } from '../io/output.ts';
import { nodeUrl, openSession } from './openSession.ts';
import { waitFor } from './waitFor.ts';

/** Outcome of publishing the X25519 key on the DID. */
export type KeyPublication =
  | { published: true; did: string; transactionHash: string; node: string }
  | { published: false; node: string; reason: string; hint: string };

/**
 * Publishes the wallet's X25519 key as the DID attribute through the node (relayed `setAttributeSigned`), unless
 * the DID already carries it. An unreachable node is not an error here: the caller says how to do it later.
 */
export async function publishKey(
  home: CarekeyHome,
  account: LocalAccount,
  recipient: string,
  identity: `0x${string}` = account.address,
): Promise<KeyPublication> {
  const url = nodeUrl();
  const rotated = identity.toLowerCase() !== account.address.toLowerCase();
  const node = createNodeClient({ url, account, timeoutMs: 30_000, ...(rotated ? { identity } : {}) });
  try {
    const description = await node.describe();
    const did = didOf(identity, description.chainId);
    const current = await node.getDid(identity).catch(() => undefined);
    let transactionHash = 'already published';
    if (current?.recipient !== recipient) {
      const receipt = await node.publishEncryptionKey({ recipient });
      transactionHash = receipt.transactionHash ?? `queued (${receipt.status ?? 'pending'})`;
      if (receipt.blockNumber === undefined) {
        // 202: queued in the node's outbox, not mined within the node's wait (a busy chain). Others look the key up
        // on the DID right after this returns (a share to this wallet): return once it is there.
        await waitFor('the encryption key to be on the ledger', async () =>
          (await node.getDid(identity).catch(() => undefined))?.recipient === recipient ? true : undefined,
        );
      }
    }
    const known = await readNodeFacts(home);
    await saveNodeFacts(home, {
      ...(known ?? {}),
      url,
      chainId: description.chainId,
      audience: description.audience,
      keyPublishedAt: new Date().toISOString(),
    });
    return { published: true, did, transactionHash, node: url };
  } catch (error) {
    if (error instanceof NodeUnreachableError) {
      return {
        published: false,
        node: url,
        reason: `no Carekey node at ${url}`,
        hint: 'start one (`npm start`) or set CAREKEY_NODE, then run `carekey publish-key`',
      };
    }
    throw error;
  }
}

/** `carekey publish-key`: (re)publish my X25519 key on my DID, e.g. when `init` ran without a node. */
export function registerPublishKey(program: Command): void {
  program
    .command('publish-key')
    .description('publish your encryption key on your DID through the node (done by init when a node is up)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const session = await openSession();
      const result = await publishKey(
        session.home,
        session.account,
        session.keys.recipient,
        session.keys.address,
      );
      if (!result.published) {
        const { CliError } = await import('../io/CliError.ts');
        throw new CliError(result.reason, { hint: result.hint });
      }
      output(options, result, () => `Encryption key published on ${result.did} (${result.transactionHash}).`);
    });
}
