/**
 * `npm run bench -- --only credentials [-- --n 300]`: provider credential verification with the status check
 * (issuer ∈ TrustedIssuers and both DID owners read from a live anvil, the Token Status List decompressed and its
 * signature checked), beside a bare ES256K signature verification, in the same run. Prints verifications/s and
 * p50/p99 for: bare signature; full verification with chain reads per call; full verification with the chain reads
 * cached (what a node keyed on the block would do).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startChain } from '../../packages/node/src/chain/startChain.ts';
import { getIdentityOwner } from '../../packages/sdk/src/chain/index.ts';
import {
  es256kSigner,
  issueCredential,
  isTrustedIssuer,
  parseDid,
  presentCredential,
  signStatusList,
  toDid,
  trustedIssuersAbi,
  verifyEs256k,
  verifyPresentation,
} from '../../packages/sdk/src/identity/index.ts';

const nAt = process.argv.indexOf('--n');
const N = nAt >= 0 ? Number(process.argv[nAt + 1]) : 300;

function stats(name: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const total = samples.reduce((a, b) => a + b, 0);
  console.log(
    `${name.padEnd(44)} ${(samples.length / (total / 1000)).toFixed(0).padStart(7)} /s   p50 ${pick(0.5).toFixed(2)} ms   p99 ${pick(0.99).toFixed(2)} ms`,
  );
}

async function time(n: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

const dir = mkdtempSync(join(tmpdir(), 'carekey-bench-credentials-'));
const chain = await startChain({ dataDir: dir, port: 0, blockTime: 0, shredDelay: 0 });
try {
  const { client, deployment, chainId } = chain;
  const boardKey = generatePrivateKey();
  const board = privateKeyToAccount(boardKey).address;
  const doctorKey = generatePrivateKey();
  const boardDid = toDid({ address: board, chainId });
  const doctorDid = toDid({ address: privateKeyToAccount(doctorKey).address, chainId });
  // The node's default governance: the relayer alone, 1 of 1.
  const hash = await client.writeContract({
    abi: trustedIssuersAbi,
    address: deployment.contracts.trustedIssuers.address,
    functionName: 'approve',
    args: [client.account.address, 0, board],
  });
  await client.waitForTransactionReceipt({ hash });
  const uri = 'http://127.0.0.1/v1/status-lists/board/main';
  const list = signStatusList({
    issuerDid: boardDid,
    privateKey: boardKey,
    uri,
    statuses: new Array(10_000).fill(0),
  });
  const credential = await issueCredential({
    issuerDid: boardDid,
    privateKey: boardKey,
    issuerName: 'Medical Board Y',
    subjectDid: doctorDid,
    claims: { role: 'physician', licence: 'MB-1', specialty: 'cardiology', organisation: 'Hospital X' },
    status: { uri, idx: 4_321 },
    expiresAt: Math.floor(Date.now() / 1000) + 86_400,
  });
  const presentation = await presentCredential({
    credential,
    disclose: ['role', 'specialty', 'organisation'],
    privateKey: doctorKey,
    audience: 'carekey-node:bench',
    nonce: 'bench-nonce',
  });
  const live = {
    resolveOwner: (did: string) =>
      getIdentityOwner({
        client,
        didRegistry: deployment.contracts.didRegistry.address,
        identity: parseDid(did).address,
      }),
    isTrustedIssuer: (issuer: Address) =>
      isTrustedIssuer({ client, trustedIssuers: deployment.contracts.trustedIssuers.address, issuer }),
    fetchStatusList: async () => list,
  };
  const owners = new Map<string, Address>();
  const cached = {
    resolveOwner: async (did: string) => {
      const known = owners.get(did);
      if (known !== undefined) return known;
      const owner = await live.resolveOwner(did);
      owners.set(did, owner);
      return owner;
    },
    isTrustedIssuer: async () => true,
    fetchStatusList: async () => list,
  };
  const verify = (trust: typeof live | typeof cached) =>
    verifyPresentation({ presentation, audience: 'carekey-node:bench', nonce: 'bench-nonce', ...trust });
  await verify(live); // warm-up, and proof it verifies
  const signature = es256kSigner(boardKey)('header.payload');
  console.log(`credential verification (n = ${N}; status list of 10,000 entries; anvil on loopback)`);
  stats(
    'bare ES256K signature verification',
    await time(N, () => verifyEs256k('header.payload', signature, board)),
  );
  stats('full verification, chain reads each call', await time(N, () => verify(live)));
  stats('full verification, chain reads cached', await time(N, () => verify(cached)));
} finally {
  await chain.stop();
  rmSync(dir, { recursive: true, force: true });
}
