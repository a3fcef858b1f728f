/**
 * Gas bench: Carekey's batched commitments against one naive pointer per transaction.
 *
 * Spawns anvil on a free loopback port, deploys the contracts from the generated SDK ABIs with
 * viem, and reads `gasUsed` from the receipts of: one `publishBatch` of 1,000 records (direct and
 * relayed), ten providers' signed batches relayed in one transaction, one grant (direct and
 * relayed), one revoke, and 20 `NaivePointerStore.storePointer`
 * transactions. Prints a table with ratios and a final JSON line. Target (DESIGN.md "Scale"):
 * < 50 gas per record amortised, against 165,600 for one naive pointer transaction.
 *
 * Run: `npx tsx scripts/bench/gas.ts` (after `npm run build:contracts` if the contracts changed).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Abi,
  type Address,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  keccak256,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import {
  consentRegistryAbi,
  consentRegistryBytecode,
  ethereumDidRegistryAbi,
  ethereumDidRegistryBytecode,
  naivePointerStoreAbi,
  naivePointerStoreBytecode,
  recordRegistryAbi,
  recordRegistryBytecode,
} from '../../packages/sdk/src/chain/abi/index.ts';
import { buildRecordTree, type RecordLeaf } from '../../packages/sdk/src/chain/merkle.ts';
import {
  purposeOfUse,
  ScopeKind,
  toGrantTypedData,
  toPublishTypedData,
  ZERO_BYTES32,
} from '../../packages/sdk/src/chain/typedData.ts';

const BATCH_SIZE = 1000;
const NAIVE_TXS = 20;
const STEADY_BATCHES = 5;
const BULK_PUBLICATIONS = 10;
const NAIVE_REFERENCE = 165_600;
const TARGET_PER_RECORD = 50;

const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const anvilBin = path.join(repoDir, 'node_modules', '@foundry-rs', 'anvil-linux-amd64', 'bin', 'anvil');
// anvil's first default dev account (public test key; never holds value).
const relayer = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const patient = privateKeyToAccount(toHex(randomBytes(32)));
const provider = privateKeyToAccount(toHex(randomBytes(32)));

const bytes32 = (): Hex => toHex(randomBytes(32));

function startAnvil(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(anvilBin, ['--host', '127.0.0.1', '--port', '0', '--chain-id', '31337'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`anvil did not start within 15 s:\n${output.slice(-2000)}`));
    }, 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Listening on ([\d.]+):(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ child, url: `http://${match[1]}:${match[2]}` });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`anvil exited with code ${code}:\n${output.slice(-2000)}`));
    });
  });
}

async function main(): Promise<void> {
  const { child, url } = await startAnvil();
  try {
    const publicClient = createPublicClient({ chain: foundry, transport: http(url) });
    const wallet = createWalletClient({ account: relayer, chain: foundry, transport: http(url) });
    const chainId = await publicClient.getChainId();

    async function deploy(abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> {
      const hash = await wallet.deployContract({ abi, bytecode, args });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (!receipt.contractAddress) throw new Error('deployment produced no contract address');
      return receipt.contractAddress;
    }
    async function gasOf(hash: Hex): Promise<bigint> {
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
      return receipt.gasUsed;
    }

    const didRegistry = await deploy(ethereumDidRegistryAbi, ethereumDidRegistryBytecode, []);
    const records = await deploy(recordRegistryAbi, recordRegistryBytecode, [didRegistry, 0n]);
    const consent = await deploy(consentRegistryAbi, consentRegistryBytecode, [didRegistry]);
    const naive = await deploy(naivePointerStoreAbi, naivePointerStoreBytecode, []);

    const patientCommitment = bytes32();
    const batch = (): { root: Hex } => {
      const leaves: RecordLeaf[] = Array.from({ length: BATCH_SIZE }, () => ({
        recordId: bytes32(),
        blobId: bytes32(),
        categoryTag: keccak256(toHex(`category-${Math.floor(Math.random() * 8)}`)),
        patientCommitment,
      }));
      return buildRecordTree(leaves);
    };

    // The relayer publishes as its own identity (identityOwner(relayer) == relayer).
    const publish = async () =>
      gasOf(
        await wallet.writeContract({
          address: records,
          abi: recordRegistryAbi,
          functionName: 'publishBatch',
          args: [relayer.address, batch().root, BATCH_SIZE],
        }),
      );
    const firstPublish = await publish(); // pays for the batch array's length slot going 0 → 1
    const steady: bigint[] = [];
    for (let i = 0; i < STEADY_BATCHES; i++) steady.push(await publish());
    const publishGas = steady.reduce((a, b) => a + b, 0n) / BigInt(steady.length);

    // Relayed publication signed by a provider that holds no ether.
    const { timestamp } = await publicClient.getBlock();
    const deadline = timestamp + 3600n;
    const root = batch().root;
    const publishSig = await provider.signTypedData(
      toPublishTypedData({
        chainId,
        verifyingContract: records,
        message: { publisher: provider.address, root, count: BATCH_SIZE, nonce: 0n, deadline },
      }),
    );
    const publishSignedGas = await gasOf(
      await wallet.writeContract({
        address: records,
        abi: recordRegistryAbi,
        functionName: 'publishBatchSigned',
        args: [provider.address, root, BATCH_SIZE, 0n, deadline, publishSig],
      }),
    );

    // Bulk relay: BULK_PUBLICATIONS providers' signed batches in one transaction (the node's
    // relayer batching). Measured on the second round, once each provider's nonce slot exists.
    const providers = Array.from({ length: BULK_PUBLICATIONS }, () =>
      privateKeyToAccount(toHex(randomBytes(32))),
    );
    const bulkRound = async (nonce: bigint) => {
      const publications = await Promise.all(
        providers.map(async (signer) => {
          const bulkRoot = batch().root;
          const message = { publisher: signer.address, root: bulkRoot, count: BATCH_SIZE, nonce, deadline };
          const signature = await signer.signTypedData(
            toPublishTypedData({ chainId, verifyingContract: records, message }),
          );
          return { ...message, signature };
        }),
      );
      return gasOf(
        await wallet.writeContract({
          address: records,
          abi: recordRegistryAbi,
          functionName: 'publishBatchesSigned',
          args: [publications],
        }),
      );
    };
    const bulkFirstGas = await bulkRound(0n);
    const bulkGas = await bulkRound(1n);

    // Grants by the patient: relayed (the normal path) and direct (the patient's key sends it).
    const grantMessage = {
      patient: patient.address,
      grantee: provider.address,
      scopeKind: ScopeKind.Categories,
      scopeData: [keccak256(toHex('category-1')), keccak256(toHex('category-2'))],
      purpose: purposeOfUse('TREAT'),
      expiresAt: timestamp + 30n * 86_400n,
      requestId: ZERO_BYTES32,
      nonce: 0n,
      deadline,
    } as const;
    const grantSig = await patient.signTypedData(
      toGrantTypedData({ chainId, verifyingContract: consent, message: grantMessage }),
    );
    const grantSignedGas = await gasOf(
      await wallet.writeContract({
        address: consent,
        abi: consentRegistryAbi,
        functionName: 'createGrantSigned',
        args: [
          grantMessage.patient,
          grantMessage.grantee,
          grantMessage.scopeKind,
          grantMessage.scopeData,
          grantMessage.purpose,
          grantMessage.expiresAt,
          grantMessage.requestId,
          grantMessage.nonce,
          grantMessage.deadline,
          grantSig,
        ],
      }),
    );
    const grantHash = await wallet.writeContract({
      address: consent,
      abi: consentRegistryAbi,
      functionName: 'createGrant',
      args: [
        relayer.address,
        provider.address,
        ScopeKind.Categories,
        grantMessage.scopeData,
        grantMessage.purpose,
        grantMessage.expiresAt,
        ZERO_BYTES32,
      ],
    });
    const grantGas = await gasOf(grantHash);
    const grantId = (await publicClient.waitForTransactionReceipt({ hash: grantHash })).logs[0]?.topics[1];
    if (!grantId) throw new Error('GrantCreated event missing');
    const revokeGas = await gasOf(
      await wallet.writeContract({
        address: consent,
        abi: consentRegistryAbi,
        functionName: 'revokeGrant',
        args: [grantId],
      }),
    );

    const naiveGas: bigint[] = [];
    for (let i = 0; i < NAIVE_TXS; i++) {
      naiveGas.push(
        await gasOf(
          await wallet.writeContract({
            address: naive,
            abi: naivePointerStoreAbi,
            functionName: 'storePointer',
            args: [bytes32(), bytes32(), patient.address, keccak256(toHex('Observation|laboratory'))],
          }),
        ),
      );
    }
    const naiveMean = Number(naiveGas.reduce((a, b) => a + b, 0n)) / NAIVE_TXS;

    const perRecord = Number(publishGas) / BATCH_SIZE;
    const perRecordSigned = Number(publishSignedGas) / BATCH_SIZE;
    const bulkRecords = BATCH_SIZE * BULK_PUBLICATIONS;
    const perRecordBulk = Number(bulkGas) / bulkRecords;
    const rows: [string, number, string][] = [
      [`naive storePointer (mean of ${NAIVE_TXS} txs), per record`, naiveMean, '1×'],
      [`publishBatch ${BATCH_SIZE} records, first ever batch`, Number(firstPublish), ''],
      [`publishBatch ${BATCH_SIZE} records (mean of ${STEADY_BATCHES})`, Number(publishGas), ''],
      ['  → per record', perRecord, `${(naiveMean / perRecord).toFixed(0)}× cheaper`],
      [`publishBatchSigned ${BATCH_SIZE} records (relayed)`, Number(publishSignedGas), ''],
      ['  → per record', perRecordSigned, `${(naiveMean / perRecordSigned).toFixed(0)}× cheaper`],
      [
        `publishBatchesSigned ${BULK_PUBLICATIONS} publishers × ${BATCH_SIZE}, first round`,
        Number(bulkFirstGas),
        '',
      ],
      [`publishBatchesSigned ${BULK_PUBLICATIONS} publishers × ${BATCH_SIZE}`, Number(bulkGas), ''],
      [
        '  → per record (relayed in bulk)',
        perRecordBulk,
        `${(naiveMean / perRecordBulk).toFixed(0)}× cheaper`,
      ],
      ['createGrant (2 category tags, direct)', Number(grantGas), ''],
      ['createGrantSigned (2 category tags, relayed)', Number(grantSignedGas), ''],
      ['revokeGrant', Number(revokeGas), ''],
    ];
    console.log(`Carekey gas bench (anvil, ${url})\n`);
    console.log(`${'operation'.padEnd(56)} ${'gasUsed'.padStart(10)}  vs naive`);
    for (const [name, gas, ratio] of rows) {
      console.log(`${name.padEnd(56)} ${gas.toFixed(gas < 1000 ? 1 : 0).padStart(10)}  ${ratio}`);
    }
    const verdict = (gas: number) => (gas < TARGET_PER_RECORD ? 'met' : 'NOT met');
    console.log(
      `\ntarget < ${TARGET_PER_RECORD} gas/record: one direct batch per tx ${verdict(perRecord)} (${perRecord.toFixed(1)}), ` +
        `relayed in bulk ${verdict(perRecordBulk)} (${perRecordBulk.toFixed(1)}); ` +
        `naive reference in DESIGN.md ${NAIVE_REFERENCE}, measured ${naiveMean.toFixed(0)}`,
    );
    console.log(
      JSON.stringify({
        bench: 'gas',
        batchSize: BATCH_SIZE,
        publishBatchFirst: Number(firstPublish),
        publishBatch: Number(publishGas),
        perRecord,
        publishBatchSigned: Number(publishSignedGas),
        perRecordSigned,
        publishBatchesSignedFirst: Number(bulkFirstGas),
        publishBatchesSigned: Number(bulkGas),
        bulkPublications: BULK_PUBLICATIONS,
        perRecordBulk,
        createGrant: Number(grantGas),
        createGrantSigned: Number(grantSignedGas),
        revokeGrant: Number(revokeGas),
        naivePerRecord: naiveMean,
        ratio: naiveMean / perRecord,
        targetPerRecord: TARGET_PER_RECORD,
        targetMetDirect: perRecord < TARGET_PER_RECORD,
        targetMetBulk: perRecordBulk < TARGET_PER_RECORD,
      }),
    );
  } finally {
    child.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
