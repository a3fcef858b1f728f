/**
 * Share and forget bench (issue 3, "Performance"): share one large record (default 1 GiB) with 100 grantees —
 * 100 key wraps and no payload pass — beside one encryption of that payload; and forget it beside forgetting a
 * 1 KiB record (constant time).
 *
 *   npm run bench -- --only share [--size 1GiB] [--grantees 100]      (quick: --size 64MiB --grantees 10)
 *
 * Against a real node (embedded anvil, on-disk PGlite, blob store, HTTP API). The large payload is STREAM-encrypted
 * chunk by chunk to a file (the timed baseline: encrypt + SHA-256 for its CID + write), uploaded streamed
 * (`PUT /v1/blobs/{cid}`), and published with a 1 KiB record in one batch. Each grantee has an X25519 key on its DID.
 *
 * Share, per grantee, as `carekey share` does it: read the grantee's key from its DID, unwrap the patient's own
 * stanza, wrap the file key to the grantee, sign the `Grant` (nonce from the node) and `POST /v1/grants`. While the
 * large record is shared its payload is moved out of the blob store (a read would fail), and the bytes this
 * process read (client and node, `/proc/self/io` rchar, sockets included) are printed and must stay far below the
 * payload's size. The same 100 shares of the 1 KiB record give the size ratio. Then the CLI's own `share()` runs
 * once with a local copy of the large record, and what it read is printed.
 *
 * Forget (`POST /v1/records/{id}/shred`, shred delay 0: every stanza and the salt destroyed at once): the large
 * record beside the 1 KiB one, both with 101 stanzas (patient + 100 grantees).
 * Not a test: prints tables and a final JSON line.
 */
import '@carekey/sdk/crypto/node';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { blobIdFromDigest, parseBlobId } from '@carekey/sdk/blobs';
import {
  buildRecordIdTree,
  buildRecordTree,
  purposeOfUse,
  type RecordLeaf,
  ScopeKind,
  ShredAction,
  toGrantTypedData,
  toPublishTypedData,
  toShredTypedData,
  ZERO_BYTES32,
} from '@carekey/sdk/chain';
import {
  assembleHeader,
  decodeStanza,
  encodeStanza,
  encryptPayload,
  generateFileKey,
  PayloadEncryptor,
  unwrapFileKey,
  wrapFileKey,
  X25519Identity,
  X25519Recipient,
} from '@carekey/sdk/crypto';
import { categoryKey, categoryTag } from '@carekey/sdk/fhir';
import { AUTH_HEADER, signNodeRequest } from '@carekey/sdk/protocol';
import { bytesToHex, encodeAbiParameters, type Hex, keccak256 } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Session } from '../../packages/cli/src/commands/openSession.ts';
import { share } from '../../packages/cli/src/commands/share.ts';
import { signatureContext } from '../../packages/cli/src/commands/signatureContext.ts';
import { createNodeClient } from '../../packages/sdk/src/client/createNodeClient.ts';
import {
  formatSize,
  machineLine,
  newSession,
  option,
  outboxSettled,
  printTable,
  since,
  startBenchNode,
} from './support/benchNode.ts';
import { parseSize } from './support/parseSize.ts';

const size = parseSize(option('size', '1GiB'));
const granteeCount = Number(option('grantees', '100'));
const SMALL = 1024;
const CHUNK = 4 << 20;

/** Bytes this process has read through read(2)-like calls (files and sockets), from /proc/self/io. */
function bytesRead(): number {
  const m = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  if (!m) throw new Error('/proc/self/io has no rchar line');
  return Number(m[1]);
}

const random32 = (): Hex => bytesToHex(randomBytes(32));

const bench = await startBenchNode({ maxBlobBytes: Math.max(2 ** 31, size + (1 << 20)) });
const work = mkdtempSync(path.join(tmpdir(), 'carekey-bench-share-'));
try {
  const { node, url } = bench;
  const patient = await newSession(bench.dir, 'patient', url);
  const description = await patient.node.describe();
  const domain = await patient.node.domain();

  // Grantees: an identity and an X25519 key each, published on its DID through the node.
  // Eight at a time: a hundred concurrent relayed writes time out on a loaded machine.
  const grantees: { account: ReturnType<typeof privateKeyToAccount>; address: Hex }[] = [];
  while (grantees.length < granteeCount + 1) {
    const batch = Array.from({ length: Math.min(8, granteeCount + 1 - grantees.length) }, () =>
      privateKeyToAccount(generatePrivateKey()),
    );
    await Promise.all(
      batch.map((account) =>
        createNodeClient({ url, account }).publishEncryptionKey({
          recipient: X25519Identity.generate().recipient.toString(),
        }),
      ),
    );
    for (const account of batch) grantees.push({ account, address: account.address });
  }
  const extra = grantees.pop() as (typeof grantees)[number]; // for the CLI's share() below

  // Baseline: one encryption of the large payload (encrypt, hash for the CID, write), chunk by chunk.
  const plaintext = randomBytes(CHUNK);
  const blobFile = path.join(work, 'large.payload');
  const largeKey = generateFileKey();
  const encryptStart = performance.now();
  const hash = createHash('sha256');
  const fd = openSync(blobFile, 'w');
  const encryptor = new PayloadEncryptor(largeKey);
  const sink = (part: Uint8Array) => {
    hash.update(part);
    writeSync(fd, part);
  };
  for (let left = size; left > 0; left -= CHUNK)
    encryptor.write(plaintext.subarray(0, Math.min(CHUNK, left)), sink);
  encryptor.end(sink);
  closeSync(fd);
  const encryptSeconds = since(encryptStart);
  const largeCid = blobIdFromDigest(new Uint8Array(hash.digest())).id;
  const payloadBytes = statSync(blobFile).size;

  // Upload, streamed (signed path; the CID binds the body).
  const uploadStart = performance.now();
  const putPath = `/v1/blobs/${largeCid}`;
  const auth = await signNodeRequest({
    account: patient.account,
    domain,
    audience: description.audience,
    method: 'PUT',
    path: putPath,
  });
  await new Promise<void>((resolve, reject) => {
    const target = new URL(url);
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: 'PUT',
        path: putPath,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': payloadBytes,
          [AUTH_HEADER]: auth,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 201 ? resolve() : reject(new Error(`upload answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    void pipeline(createReadStream(blobFile), req).catch(reject);
  });
  const uploadSeconds = since(uploadStart);

  // Publish the large record and a 1 KiB one in one batch (as publishFhir does).
  const own = new X25519Recipient(patient.keys.recipient);
  const small = encryptPayload({ plaintext: new Uint8Array(randomBytes(SMALL)) });
  const smallCid = (await patient.node.putBlob(small.payload)).cid;
  const tagKey = categoryKey(patient.keys.privateKey);
  const made = await Promise.all(
    [
      { fileKey: largeKey, cid: largeCid },
      { fileKey: small.fileKey, cid: smallCid },
    ].map(async ({ fileKey, cid }) => {
      const recordId = random32();
      const salt = random32();
      const stanza = await wrapFileKey({ fileKey, recipient: own });
      const leaf: RecordLeaf = {
        recordId,
        blobId: bytesToHex(parseBlobId(cid).digest),
        categoryTag: categoryTag({ patientSalt: tagKey, category: 'DocumentReference' }),
        patientCommitment: keccak256(
          encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [patient.keys.address, salt]),
        ),
      };
      return { recordId, salt, cid, leaf, ownStanza: encodeStanza(stanza), stanza };
    }),
  );
  const [large, tiny] = made as [(typeof made)[number], (typeof made)[number]];
  const tree = buildRecordTree(made.map((m) => m.leaf));
  const publishContext = await signatureContext({
    session: patient,
    contract: 'RecordRegistry',
    identity: patient.keys.address,
  });
  const publishSignature = await patient.account.signTypedData(
    toPublishTypedData({
      chainId: description.chainId,
      verifyingContract: description.contracts.recordRegistry,
      message: {
        publisher: patient.keys.address,
        root: tree.root,
        count: made.length,
        nonce: publishContext.nonce,
        deadline: publishContext.deadline,
      },
    }),
  );
  await patient.node.publishRecords({
    patient: patient.keys.address,
    records: made.map((m) => ({
      recordId: m.recordId,
      blobId: m.cid,
      categoryTag: m.leaf.categoryTag,
      salt: m.salt,
      stanzas: [{ reader: patient.keys.address, stanza: m.ownStanza }],
    })),
    publish: {
      root: tree.root,
      count: made.length,
      nonce: publishContext.nonce.toString(),
      deadline: publishContext.deadline.toString(),
      signature: publishSignature,
    },
  });
  await publishContext.commit();
  await outboxSettled(node);

  /** One share as `carekey share <record> --with <grantee>` does it, from the patient's own stanza. */
  async function shareWith(session: Session, record: typeof large, grantee: Hex): Promise<void> {
    const recipient = (await session.node.getDid(grantee)).recipient;
    const fileKey = await unwrapFileKey({
      stanzas: [decodeStanza(record.ownStanza)],
      identities: [session.keys.identity],
    });
    const stanza = encodeStanza(await wrapFileKey({ fileKey, recipient: new X25519Recipient(recipient) }));
    fileKey.fill(0);
    const context = await signatureContext({
      session,
      contract: 'ConsentRegistry',
      identity: session.keys.address,
    });
    const message = {
      patient: session.keys.address,
      grantee,
      scopeKind: ScopeKind.Records,
      scopeData: [buildRecordIdTree([record.recordId]).root],
      purpose: purposeOfUse('TREAT'),
      expiresAt: BigInt(Math.floor(Date.now() / 1000) + 86_400),
      requestId: ZERO_BYTES32,
      nonce: context.nonce,
      deadline: context.deadline,
    };
    const signature = await session.account.signTypedData(
      toGrantTypedData({
        chainId: description.chainId,
        verifyingContract: description.contracts.consentRegistry,
        message,
      }),
    );
    await session.node.createGrant({
      grant: {
        ...message,
        expiresAt: message.expiresAt.toString(),
        nonce: message.nonce.toString(),
        deadline: message.deadline.toString(),
        signature,
      },
      recipient,
      scopeRecordIds: [record.recordId],
      stanzas: [{ recordId: record.recordId, stanza }],
    });
    await context.commit();
  }

  const stored = path.join(node.blobs.dir, largeCid.slice(-2), largeCid);
  const hidden = `${stored}.away`;
  type Shared = { seconds: number; read: number };
  const shareAll = async (record: typeof large, hide: boolean): Promise<Shared> => {
    if (hide) renameSync(stored, hidden); // any read of the payload would now fail
    try {
      const read0 = bytesRead();
      const start = performance.now();
      for (const g of grantees) await shareWith(patient, record, g.address);
      return { seconds: since(start), read: bytesRead() - read0 };
    } finally {
      if (hide) renameSync(hidden, stored);
    }
  };
  const shareLarge = await shareAll(large, true);
  const shareTiny = await shareAll(tiny, false);
  if (shareLarge.read >= payloadBytes / 16)
    throw new Error(`sharing read ${shareLarge.read} bytes: a payload pass (${payloadBytes} B)`);
  const { rows: stanzaRows } = await node.sql.query<{ n: bigint }>(
    'select count(*) as n from stanzas where record_id = $1',
    [Buffer.from(large.recordId.slice(2), 'hex')],
  );
  if (Number(stanzaRows[0]?.n) !== granteeCount + 1)
    throw new Error(`the large record has ${stanzaRows[0]?.n} stanzas, expected ${granteeCount + 1}`);

  // The CLI's own share(), once, with the local copy `carekey import` keeps (own stanza header ‖ payload).
  const localFile = patient.store.fileOf(large.recordId);
  const header = assembleHeader({ fileKey: largeKey, stanzas: [large.stanza] });
  mkdirSync(patient.store.dir, { recursive: true });
  const out = createWriteStream(localFile);
  out.write(header);
  await pipeline(createReadStream(blobFile), out);
  await patient.store.save([
    {
      recordId: large.recordId,
      blobId: large.cid,
      patient: patient.keys.address,
      publisher: patient.keys.address,
      resourceType: 'DocumentReference',
      fhirId: 'bench-large',
      category: 'DocumentReference',
      categoryTag: large.leaf.categoryTag,
      salt: large.salt,
      sha256: bytesToHex(randomBytes(32)),
      source: 'bench',
      addedAt: new Date().toISOString(),
      state: 'active',
    },
  ]);
  const cliRead0 = bytesRead();
  const cliStart = performance.now();
  await share(patient, { records: [large.recordId], with: extra.address, purpose: 'TREAT', expires: '1d' });
  const cliShare = { seconds: since(cliStart), read: bytesRead() - cliRead0 };
  rmSync(localFile, { force: true });
  // Every relayed grant must land (2 × grantees + 1 in a row by one patient): a failed one fails the run.
  await outboxSettled(node);
  const { rows: grantRows } = await node.sql.query<{ n: bigint }>(
    `select count(*) as n from outbox where kind = 'ConsentRegistry.createGrantSigned' and status = 'confirmed'`,
  );
  if (Number(grantRows[0]?.n) !== 2 * granteeCount + 1)
    throw new Error(`${grantRows[0]?.n} relayed grants confirmed, expected ${2 * granteeCount + 1}`);

  // Forget: the large record beside the 1 KiB one (each with the patient's and every grantee's stanza).
  const forget = async (record: typeof large): Promise<{ seconds: number; state: string }> => {
    const context = await signatureContext({
      session: patient,
      contract: 'RecordRegistry',
      identity: patient.keys.address,
    });
    const sign = async (action: ShredAction, nonce: bigint) => ({
      nonce: nonce.toString(),
      deadline: context.deadline.toString(),
      signature: await patient.account.signTypedData(
        toShredTypedData({
          chainId: description.chainId,
          verifyingContract: description.contracts.recordRegistry,
          message: {
            patient: patient.keys.address,
            recordId: record.recordId,
            action,
            nonce,
            deadline: context.deadline,
          },
        }),
      ),
    });
    const body = {
      action: 'request' as const,
      patient: patient.keys.address,
      recordId: record.recordId,
      request: await sign(ShredAction.Request, context.nonce),
    };
    const start = performance.now();
    const answer = await patient.node.shredRecord(record.recordId, body);
    const seconds = since(start);
    return { seconds, state: answer.state };
  };
  const stanzasOf = async (record: typeof large) => {
    const { rows } = await node.sql.query<{ n: bigint }>(
      'select count(*) as n from stanzas where record_id = $1',
      [Buffer.from(record.recordId.slice(2), 'hex')],
    );
    return Number(rows[0]?.n);
  };
  const tinyStanzas = await stanzasOf(tiny);
  const largeStanzas = await stanzasOf(large);
  const forgetTiny = await forget(tiny);
  const forgetLarge = await forget(large);
  const keysLeft = (await stanzasOf(tiny)) + (await stanzasOf(large));

  console.log(
    `one ${formatSize(size)} record (payload ${payloadBytes} B) and one ${formatSize(SMALL)} record; ` +
      `${granteeCount} grantees; ${machineLine()}`,
  );
  printTable(
    ['operation', 'seconds', 'bytes read', '× encryption'],
    [
      [
        `encrypt ${formatSize(size)} (baseline: STREAM + SHA-256 + write)`,
        encryptSeconds.toFixed(2),
        '',
        '1.00',
      ],
      [
        `upload ${formatSize(size)} (streamed PUT)`,
        uploadSeconds.toFixed(2),
        '',
        (uploadSeconds / encryptSeconds).toFixed(2),
      ],
      [
        `share ${formatSize(size)} with ${granteeCount} (payload moved away)`,
        shareLarge.seconds.toFixed(2),
        String(shareLarge.read),
        (shareLarge.seconds / encryptSeconds).toFixed(2),
      ],
      [
        `share ${formatSize(SMALL)} with ${granteeCount}`,
        shareTiny.seconds.toFixed(2),
        String(shareTiny.read),
        (shareTiny.seconds / encryptSeconds).toFixed(2),
      ],
      [
        `CLI share() of ${formatSize(size)} with 1 (local copy)`,
        cliShare.seconds.toFixed(2),
        String(cliShare.read),
        (cliShare.seconds / encryptSeconds).toFixed(2),
      ],
    ],
  );
  console.log(
    `share ${formatSize(size)} / share ${formatSize(SMALL)}: ${(shareLarge.seconds / shareTiny.seconds).toFixed(2)}×; ` +
      `${((shareLarge.seconds / granteeCount) * 1000).toFixed(1)} ms per grantee; ` +
      `payload bytes read while sharing: none (the payload was not in the store; ${shareLarge.read} B read in all, ` +
      `${((shareLarge.read / payloadBytes) * 100).toFixed(3)} % of the payload, all of it HTTP and SQL)`,
  );
  if (cliShare.read >= payloadBytes)
    console.log(
      `CLI share() read ${cliShare.read} B for one grantee (${(cliShare.read / payloadBytes).toFixed(1)}× the payload): ` +
        'RecordStore.hasFile and fileKey read the whole local copy to find its header',
    );
  printTable(
    ['forget (shred request, delay 0)', 'stanzas', 'seconds', 'state'],
    [
      [`${formatSize(SMALL)} record`, String(tinyStanzas), forgetTiny.seconds.toFixed(3), forgetTiny.state],
      [`${formatSize(size)} record`, String(largeStanzas), forgetLarge.seconds.toFixed(3), forgetLarge.state],
    ],
  );
  console.log(
    `forget ${formatSize(size)} / forget ${formatSize(SMALL)}: ${(forgetLarge.seconds / forgetTiny.seconds).toFixed(2)}×; stanzas left: ${keysLeft}`,
  );
  console.log(
    JSON.stringify({
      bench: 'share',
      size,
      payloadBytes,
      grantees: granteeCount,
      loadAverage: +(loadavg()[0] ?? 0).toFixed(1),
      encryptSeconds: +encryptSeconds.toFixed(3),
      uploadSeconds: +uploadSeconds.toFixed(3),
      shareLargeSeconds: +shareLarge.seconds.toFixed(3),
      shareLargeBytesRead: shareLarge.read,
      shareSmallSeconds: +shareTiny.seconds.toFixed(3),
      shareLargeVsEncrypt: +(shareLarge.seconds / encryptSeconds).toFixed(3),
      shareLargeVsSmall: +(shareLarge.seconds / shareTiny.seconds).toFixed(2),
      cliShareSeconds: +cliShare.seconds.toFixed(3),
      cliShareBytesRead: cliShare.read,
      forgetSmallSeconds: +forgetTiny.seconds.toFixed(4),
      forgetLargeSeconds: +forgetLarge.seconds.toFixed(4),
      forgetLargeVsSmall: +(forgetLarge.seconds / forgetTiny.seconds).toFixed(2),
      stanzasLeft: keysLeft,
    }),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
  await bench.stop();
}
