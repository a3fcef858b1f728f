import type { Command } from 'commander';
import { carekeyHome } from '../home/carekeyHome.ts';
import { didOf, readNodeFacts } from '../home/nodeFacts.ts';
import { readWalletPublic } from '../home/walletStore.ts';
import { output } from '../io/output.ts';

/** `carekey whoami`: the address and age recipient of the wallet in `CAREKEY_HOME`. */
export function registerWhoami(program: Command): void {
  program
    .command('whoami')
    .description('show the address and public encryption key of your wallet')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const home = carekeyHome();
      const facts = await readWalletPublic(home);
      const node = await readNodeFacts(home);
      const did = node === undefined ? null : didOf(facts.address, node.chainId);
      output(options, { ...facts, did, node: node?.url ?? null, home: home.dir }, () =>
        [
          `address        ${facts.address}`,
          ...(facts.key === undefined
            ? []
            : [`signing key    ${facts.key} (rotated: it acts for the address above)`]),
          `DID            ${did ?? 'unknown until this wallet reaches a node (`carekey publish-key`)'}`,
          `age recipient  ${facts.ageRecipient}`,
          `home           ${home.dir}`,
        ].join('\n'),
      );
    });
}
