import { signRevokeForRelay } from '@carekey/sdk/chain';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { openSession } from './openSession.ts';
import { signatureContext } from './signatureContext.ts';
import { waitFor } from './waitFor.ts';

/**
 * `carekey revoke <grantId>` (docs/protocol.md flow 4): signs `Revoke`; the node deletes the grantee's stanzas at
 * once and relays the revocation, which the vault honours as soon as it is seen on the ledger.
 */
export function registerRevoke(program: Command): void {
  program
    .command('revoke')
    .description('revoke a grant you gave: the grantee can open nothing more under it')
    .argument('<grantId>', 'the grant id (`carekey grants`)')
    .option('--json', 'print JSON')
    .action(async (ref: string, options: { json?: boolean }) => {
      const given = ref.trim().toLowerCase();
      if (!/^0x[0-9a-f]{64}$/u.test(given)) {
        throw new CliError(`malformed grant id '${ref.slice(0, 80)}'`, {
          hint: 'a grant id (or the digest `share --no-wait` printed) is 0x and 64 hex digits (`carekey grants`)',
        });
      }
      const session = await openSession();
      const { node, keys } = session;
      const listed = (await node.listGrants()) as Awaited<ReturnType<typeof node.listGrants>> & {
        queued?: { grantDigest: Hex; patient: Hex; state: string }[];
      };
      let grant = listed.grants.find(
        (g) =>
          g.grantId.toLowerCase() === given || (g.grantDigest as string | undefined)?.toLowerCase() === given,
      );
      const queued = listed.queued?.find(
        (q) =>
          q.grantDigest.toLowerCase() === given && q.patient.toLowerCase() === keys.address.toLowerCase(),
      );
      if (grant === undefined && queued !== undefined) {
        // Signed, still in the node's outbox: the ledger gives it its id when it is mined; revoke it then.
        if (queued.state === 'failed')
          throw new CliError(`grant ${given} never reached the ledger: nothing to revoke`);
        grant = await waitFor('the queued grant to reach the ledger before revoking it', async () => {
          const again = await node.listGrants();
          return again.grants.find((g) => (g.grantDigest as string | undefined)?.toLowerCase() === given);
        });
      }
      if (grant === undefined || grant.patient.toLowerCase() !== keys.address.toLowerCase()) {
        throw new CliError(`unknown grant ${given}`, {
          hint: 'you can revoke the grants you gave (`carekey grants`)',
        });
      }
      const grantId = grant.grantId.toLowerCase();
      if (grant.state === 'revoked') throw new CliError(`grant ${grantId} is already revoked`);
      const description = await node.describe();
      const context = await signatureContext({
        session,
        contract: 'ConsentRegistry',
        identity: keys.address,
      });
      const signed = await signRevokeForRelay({
        account: session.account,
        chainId: description.chainId,
        verifyingContract: description.contracts.consentRegistry,
        nonce: context.nonce,
        deadline: context.deadline,
        patient: keys.address,
        grantId: grantId as Hex,
      });
      const answer = await node.revokeGrant(grantId as Hex, signed.body);
      await context.commit();
      const at = new Date().toISOString().slice(11, 16);
      output(options, { grantId, grantee: grant.grantee, revoked: true, node: answer }, () =>
        [
          `Revoked grant ${grantId}: ${grant.grantee} can open nothing more under it.`,
          `Anything they opened before ${at} UTC may remain with them; \`carekey audit\` shows what they opened.`,
        ].join('\n'),
      );
    });
}
