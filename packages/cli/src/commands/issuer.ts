import { IssuerAction, parseDid, toApprovalTypedData } from '@carekey/sdk/identity';
import type { Command } from 'commander';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { openCredentialTrust } from './credentialTrust.ts';
import { openSession } from './openSession.ts';

async function approve(ref: string, action: IssuerAction, options: { json?: boolean }): Promise<void> {
  let issuer: `0x${string}`;
  try {
    issuer = parseDid(ref.trim()).address;
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const session = await openSession();
  const trust = await openCredentialTrust();
  const governor = session.keys.address;
  const standing = await trust.identity.getIssuer(issuer, governor);
  if (!standing.governors.some((g) => g.toLowerCase() === governor.toLowerCase())) {
    throw new CliError(`you (${governor}) are not a TrustedIssuers governor`, {
      hint: `the governors are ${standing.governors.join(', ')}`,
    });
  }
  const config = await trust.identity.resolverConfig();
  const message = {
    governor,
    action,
    issuer,
    epoch: BigInt(standing.epoch),
    nonce: BigInt(standing.governorNonce ?? '0'),
    deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
  };
  const signature = await session.account.signTypedData(
    toApprovalTypedData({ chainId: config.chainId, verifyingContract: config.trustedIssuers, message }),
  );
  const answer = await trust.identity.approveIssuer({
    governor,
    action,
    issuer,
    epoch: message.epoch.toString(),
    nonce: message.nonce.toString(),
    deadline: message.deadline.toString(),
    signature,
  });
  const verb = action === IssuerAction.Add ? 'adding' : 'removing';
  output(options, { issuer, action: action === IssuerAction.Add ? 'add' : 'remove', ...answer }, () => {
    if (!('trusted' in answer))
      return `Your approval of ${verb} ${ref} is queued; see \`carekey issuer show ${ref}\`.`;
    const applied = action === IssuerAction.Add ? answer.trusted : !answer.trusted;
    return applied
      ? `${ref} is ${action === IssuerAction.Add ? 'now a trusted issuer' : 'no longer trusted'} (${answer.threshold} of ${standing.governors.length} governors approved).`
      : `Approved ${verb} ${ref}: ${answer.approvals} of ${answer.threshold} approvals needed so far.`;
  });
}

/** `carekey issuer add|remove|show <did>`: TrustedIssuers governance (m-of-n governors). */
export function registerIssuer(program: Command): void {
  const issuer = program
    .command('issuer')
    .description('trusted credential issuers (governors approve changes)');
  issuer
    .command('add')
    .description('approve adding an issuer to TrustedIssuers (applies once enough governors approved)')
    .argument('<did>')
    .option('--json', 'print JSON')
    .action((ref: string, options: { json?: boolean }) => approve(ref, IssuerAction.Add, options));
  issuer
    .command('remove')
    .description('approve removing an issuer from TrustedIssuers')
    .argument('<did>')
    .option('--json', 'print JSON')
    .action((ref: string, options: { json?: boolean }) => approve(ref, IssuerAction.Remove, options));
  issuer
    .command('show')
    .description('whether an issuer is trusted, and pending approvals')
    .argument('<did>')
    .option('--json', 'print JSON')
    .action(async (ref: string, options: { json?: boolean }) => {
      let address: `0x${string}`;
      try {
        address = parseDid(ref.trim()).address;
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      const trust = await openCredentialTrust();
      const standing = await trust.identity.getIssuer(address);
      output(options, standing, () =>
        [
          `${ref} is ${standing.trusted ? 'TRUSTED' : 'not trusted'}`,
          `  pending  ${standing.trusted ? `removal ${standing.approvals.remove}` : `addition ${standing.approvals.add}`} of ${standing.threshold} approvals`,
          `  governors ${standing.governors.join(', ')}`,
        ].join('\n'),
      );
    });
}
