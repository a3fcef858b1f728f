import { sha256 } from '@noble/hashes/sha2.js';
import {
  type Address,
  bytesToHex,
  encodePacked,
  getAddress,
  type Hex,
  keccak256,
  type LocalAccount,
  parseSignature,
  stringToHex,
} from 'viem';
import { encodeBlobBatch } from '../blobs/blobBatch.ts';
import { blobIdFromDigest, parseBlobId } from '../blobs/blobId.ts';
import { X25519Recipient } from '../crypto/x25519.ts';
import type { NodeDomain, SignedEnvelope } from '../protocol/signedRequest.ts';
import { AUTH_HEADER, signKeyRequest, signNodeRequest } from '../protocol/signRequest.ts';
import { changeDid } from '../recovery/recoveryClient.ts';
import { type NodeProblem, NodeProblemError, NodeResponseError, NodeUnreachableError } from './NodeError.ts';
import type {
  AccessRequestList,
  AuditLog,
  BlobBatchReceipt,
  BlobReceipt,
  CreateAccessRequestBody,
  CreateGrantBody,
  DenyRequestBody,
  DidDescription,
  DidNonce,
  GrantList,
  GrantReceipt,
  NodeDescription,
  PublishRecordsBody,
  RecordList,
  ReleasedKeys,
  RevokeGrantBody,
  RevokeReceipt,
  SharedList,
  ShredReceipt,
  ShredRecordBody,
  TagRecordsBody,
  TxReceipt,
} from './types.ts';

/** Default validity of a published X25519 key: ten years (as `setEncryptionKey`). */
const DEFAULT_KEY_VALIDITY = 10n * 365n * 24n * 3600n;
/** `did/pub/X25519/enc/base64` as the ERC-1056 registry's bytes32 name. */
const X25519_ATTRIBUTE_NAME: Hex = stringToHex('did/pub/X25519/enc/base64', { size: 32 });

export type CreateNodeClientParameters = {
  /** Base URL of the node, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** The caller's key (its identity's current owner); needed for every authenticated call. */
  account?: LocalAccount | undefined;
  /** The identity acting, if not the account's own address (after a key rotation). */
  identity?: Address | undefined;
  /** `fetch` to use (default: the global one). */
  fetch?: typeof fetch | undefined;
  /** Per-request timeout in ms (default 60 s). */
  timeoutMs?: number | undefined;
};

type CallParameters = {
  method: 'GET' | 'POST' | 'PUT';
  /** Path and query, exactly as signed. */
  path: string;
  /** JSON body (serialised once: the signed hash covers these exact bytes). */
  json?: unknown;
  /** Raw body for streamed routes (the signed body hash is zero). */
  bytes?: Uint8Array | Blob;
  /** Sign a `NodeRequest` into the `Carekey-Auth` header. */
  signed?: boolean;
  /** The timeout covers the answer's headers only (a streamed body may take longer). */
  streamed?: boolean;
};

/**
 * A typed client of a Carekey node's HTTP API (docs/protocol.md, "HTTP API"). Isomorphic: only `fetch`, Web
 * Crypto and noble. Every refusal becomes a {@link NodeProblemError} carrying the node's stable `code`; a node that
 * cannot be reached is a {@link NodeUnreachableError}.
 *
 * @example
 * const node = createNodeClient({ url: 'http://127.0.0.1:8787', account });
 * const { recipient } = await node.getDid(grantee);
 */
export function createNodeClient(parameters: CreateNodeClientParameters) {
  const base = parameters.url.replace(/\/+$/u, '');
  const doFetch = parameters.fetch ?? globalThis.fetch;
  const timeoutMs = parameters.timeoutMs ?? 60_000;
  let description: Promise<NodeDescription> | undefined;

  function needAccount(): LocalAccount {
    if (parameters.account === undefined) {
      throw new NodeResponseError('this call needs a key to sign with', { hint: 'unlock a wallet first' });
    }
    return parameters.account;
  }

  async function send(call: CallParameters): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | Uint8Array | Blob | undefined;
    if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers['content-type'] = 'application/json';
    } else if (call.bytes !== undefined) {
      body = call.bytes;
      headers['content-type'] = 'application/octet-stream';
    }
    if (call.signed) {
      const node = await describe();
      headers[AUTH_HEADER] = await signNodeRequest({
        account: needAccount(),
        ...(parameters.identity === undefined ? {} : { signer: parameters.identity }),
        domain: domainOf(node),
        audience: node.audience,
        method: call.method,
        path: call.path,
        ...(typeof body === 'string' ? { body } : {}),
      });
    }
    let response: Response;
    // A streamed body may take longer than the timeout: the timeout then covers the answer's headers only.
    const headersOnly = call.streamed ? new AbortController() : undefined;
    const timer = headersOnly ? setTimeout(() => headersOnly.abort(), timeoutMs) : undefined;
    try {
      response = await doFetch(`${base}${call.path}`, {
        method: call.method,
        headers,
        ...(body === undefined ? {} : { body: body as BodyInit }),
        signal: headersOnly?.signal ?? AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new NodeUnreachableError(base, cause);
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw await toProblemError(response, call);
    return response;
  }

  async function json<result>(call: CallParameters): Promise<result> {
    const response = await send(call);
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('json')) {
      throw new NodeResponseError(
        `the node answered ${call.method} ${call.path} with ${type || 'no content type'}`,
      );
    }
    try {
      return (await response.json()) as result;
    } catch (cause) {
      throw new NodeResponseError(`the node answered ${call.method} ${call.path} with malformed JSON`, {
        cause,
      });
    }
  }

  /** `GET /v1/node` (cached): chain id, audience, contracts, version. */
  function describe(): Promise<NodeDescription> {
    description ??= json<NodeDescription>({ method: 'GET', path: '/v1/node' }).catch((error: unknown) => {
      description = undefined;
      throw error;
    });
    return description;
  }

  return {
    url: base,
    describe,

    /** The EIP-712 domain of signed node requests (chain id, ConsentRegistry). */
    async domain(): Promise<NodeDomain> {
      return domainOf(await describe());
    },

    /** `GET /v1/did/{address}`: owner and X25519 recipient of an identity (404 `no-encryption-key`). */
    getDid(address: Address): Promise<DidDescription> {
      return json({ method: 'GET', path: `/v1/did/${getAddress(address)}` });
    },

    /** `GET /v1/did/{address}/nonce`: what the owner signs to publish an attribute. */
    getDidNonce(address: Address): Promise<DidNonce> {
      return json({ method: 'GET', path: `/v1/did/${getAddress(address)}/nonce` });
    },

    /**
     * Publishes the caller's X25519 key on its DID (`did/pub/X25519/enc/base64`): reads the registry nonce, signs
     * the ERC-1056 `setAttribute` hash with the account (raw, no prefix) and `POST /v1/did/attributes`.
     */
    async publishEncryptionKey(options: { recipient: string; validity?: bigint }): Promise<TxReceipt> {
      const account = needAccount();
      if (account.sign === undefined) throw new NodeResponseError('this account cannot sign a raw hash');
      const identity = parameters.identity ?? account.address;
      const publicKey = new X25519Recipient(options.recipient).publicKey;
      const nonce = await this.getDidNonce(identity);
      const validity = options.validity ?? DEFAULT_KEY_VALIDITY;
      if (nonce.account !== undefined) {
        // The owner is the identity's RecoveryAccount: its controller signs an Execute (POST /v1/did/changes).
        return changeDid({
          node: this as unknown as NodeClient,
          account,
          identity,
          change: {
            kind: 'setAttribute',
            name: X25519_ATTRIBUTE_NAME,
            value: bytesToHex(publicKey),
            validity,
          },
        });
      }
      const hash = keccak256(
        encodePacked(
          ['bytes1', 'bytes1', 'address', 'uint256', 'address', 'string', 'bytes32', 'bytes', 'uint256'],
          [
            '0x19',
            '0x00',
            nonce.didRegistry as Address,
            BigInt(nonce.nonce),
            identity,
            'setAttribute',
            X25519_ATTRIBUTE_NAME,
            bytesToHex(publicKey),
            validity,
          ],
        ),
      );
      const signature = await account.sign({ hash });
      parseSignature(signature); // refuses a malformed signature before sending
      return json({
        method: 'POST',
        path: '/v1/did/attributes',
        json: { identity, recipient: options.recipient, validity: validity.toString(), signature },
      });
    },

    /** `PUT /v1/blobs/{cid}`: uploads a payload; its CID is computed here from its bytes. */
    async putBlob(payload: Uint8Array): Promise<BlobReceipt> {
      const cid = blobIdFromDigest(sha256(payload)).id;
      return json({ method: 'PUT', path: `/v1/blobs/${cid}`, bytes: payload, signed: true });
    },

    /**
     * `POST /v1/blobs/batch`: uploads up to 1,000 payloads in one signed request (one signature, one fsync group on
     * the node), all or nothing. The CIDs are computed here; the signed path carries the manifest's hash.
     */
    async putBlobs(payloads: readonly Uint8Array[]): Promise<BlobBatchReceipt> {
      const batch = encodeBlobBatch({ payloads });
      const receipt = await json<BlobBatchReceipt>({
        method: 'POST',
        path: `/v1/blobs/batch?manifest=${batch.manifestDigest}`,
        bytes: new Blob(batch.parts as BlobPart[]),
        signed: true,
      });
      if (
        !Array.isArray(receipt.blobs) ||
        receipt.blobs.length !== batch.cids.length ||
        receipt.blobs.some((b, i) => b.cid !== batch.cids[i])
      ) {
        throw new NodeResponseError('the node answered a blob batch with other blobs than were sent');
      }
      return receipt;
    },

    /**
     * `GET /v1/blobs/{cid}`: downloads a payload and checks that it hashes to its id.
     * @throws NodeResponseError when the bytes do not match the id (a damaged or substituted payload).
     */
    async getBlob(cid: string): Promise<Uint8Array> {
      const expected = parseBlobId(cid);
      const response = await send({ method: 'GET', path: `/v1/blobs/${expected.id}`, signed: true });
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (blobIdFromDigest(sha256(bytes)).id !== expected.id) {
        throw new NodeResponseError(`the payload received for ${expected.id} does not match its hash`, {
          hint: 'the node holds a damaged copy; nothing was decrypted',
        });
      }
      return bytes;
    },

    /**
     * `GET /v1/blobs/{cid}`, opened: its `size` (the node's `Content-Length`) is known before the body is read, then
     * read it once, either whole (`bytes`, checked against its CID) or as a stream (`stream`, for payloads too large
     * to hold: a scan, a long PDF). The stream's bytes are hashed as they pass and it errors at its end when they do
     * not match the CID: a consumer writing a file must discard it then (a `FileSystemWritableFileStream` piped to it
     * is, as `pipeTo` aborts it).
     */
    async openBlob(cid: string): Promise<{
      size: number | undefined;
      bytes(): Promise<Uint8Array>;
      stream(): ReadableStream<Uint8Array>;
    }> {
      const expected = parseBlobId(cid);
      const response = await send({
        method: 'GET',
        path: `/v1/blobs/${expected.id}`,
        signed: true,
        streamed: true,
      });
      const mismatch = () =>
        new NodeResponseError(`the payload received for ${expected.id} does not match its hash`, {
          hint: 'the node holds a damaged copy; nothing was decrypted',
        });
      const length = Number(response.headers.get('content-length'));
      return {
        size: Number.isFinite(length) && length > 0 ? length : undefined,
        async bytes() {
          const bytes = new Uint8Array(await response.arrayBuffer());
          if (blobIdFromDigest(sha256(bytes)).id !== expected.id) throw mismatch();
          return bytes;
        },
        stream() {
          if (response.body === null)
            throw new NodeResponseError(`the node sent no payload for ${expected.id}`);
          const hash = sha256.create();
          return response.body.pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform(chunk, controller) {
                hash.update(chunk);
                controller.enqueue(chunk);
              },
              flush(controller) {
                if (blobIdFromDigest(hash.digest()).id !== expected.id) controller.error(mismatch());
              },
            }),
          );
        },
      };
    },

    /** `POST /v1/records`: publishes a batch (leaves, salts, stanzas, signed `Publish`). */
    publishRecords(body: PublishRecordsBody): Promise<unknown> {
      return json({ method: 'POST', path: '/v1/records', json: body, signed: true });
    },

    /** `GET /v1/records`: the signer's records as a patient. */
    listRecords(query = ''): Promise<RecordList> {
      return json({ method: 'GET', path: `/v1/records${query}`, signed: true });
    },

    /** `POST /v1/records/tags`: tags the patient's untagged records. */
    tagRecords(body: TagRecordsBody): Promise<unknown> {
      return json({ method: 'POST', path: '/v1/records/tags', json: body, signed: true });
    },

    /** `POST /v1/records/{id}/shred`: requests (or cancels) forgetting a record. */
    shredRecord(recordId: Hex, body: ShredRecordBody): Promise<ShredReceipt> {
      return json({ method: 'POST', path: `/v1/records/${recordId}/shred`, json: body, signed: true });
    },

    /** `POST /v1/grants`: relays a signed grant and stores the grantee's stanzas. */
    createGrant(body: CreateGrantBody): Promise<GrantReceipt> {
      return json({ method: 'POST', path: '/v1/grants', json: body, signed: true });
    },

    /** `GET /v1/grants`: grants where the signer is patient or grantee. */
    listGrants(query = ''): Promise<GrantList> {
      return json({ method: 'GET', path: `/v1/grants${query}`, signed: true });
    },

    /** `POST /v1/grants/{id}/revoke`: relays a signed revocation. */
    revokeGrant(grantId: Hex, body: RevokeGrantBody): Promise<RevokeReceipt> {
      return json({ method: 'POST', path: `/v1/grants/${grantId}/revoke`, json: body, signed: true });
    },

    /** `GET /v1/shared`: records shared with the signer (as grantee) and the grant to read each under. */
    listShared(): Promise<SharedList> {
      return json({ method: 'GET', path: '/v1/shared', signed: true });
    },

    /** `POST /v1/keys/release`: signs a `KeyRequest` and asks the vault for the caller's stanzas. */
    async releaseKeys(options: { grantId: Hex; recordIds: readonly Hex[] }): Promise<ReleasedKeys> {
      const node = await describe();
      const envelope: SignedEnvelope<'KeyRequest'> = await signKeyRequest({
        account: needAccount(),
        ...(parameters.identity === undefined ? {} : { grantee: parameters.identity }),
        domain: domainOf(node),
        audience: node.audience,
        grantId: options.grantId,
        recordIds: options.recordIds,
      });
      return json({ method: 'POST', path: '/v1/keys/release', json: envelope });
    },

    /** `GET /v1/audit`: the access log of the signer's records. */
    audit(query = ''): Promise<AuditLog> {
      return json({ method: 'GET', path: `/v1/audit${query}`, signed: true });
    },

    /** `POST /v1/requests`: a provider's signed access request. */
    createAccessRequest(body: CreateAccessRequestBody): Promise<unknown> {
      return json({ method: 'POST', path: '/v1/requests', json: body, signed: true });
    },

    /** `GET /v1/requests`: access requests to (or from) the signer. */
    listAccessRequests(query = ''): Promise<AccessRequestList> {
      return json({ method: 'GET', path: `/v1/requests${query}`, signed: true });
    },

    /** `POST /v1/requests/{id}/deny`: the patient's signed denial. */
    denyAccessRequest(requestId: Hex, body: DenyRequestBody): Promise<unknown> {
      return json({ method: 'POST', path: `/v1/requests/${requestId}/deny`, json: body, signed: true });
    },

    /** Any other call (routes added after this client): JSON in, JSON out, optionally signed. */
    call<result>(call: CallParameters): Promise<result> {
      return json(call);
    },
  };
}

/** A node client (see {@link createNodeClient}). */
export type NodeClient = ReturnType<typeof createNodeClient>;

function domainOf(node: NodeDescription): NodeDomain {
  return { chainId: node.chainId, verifyingContract: node.contracts.consentRegistry };
}

async function toProblemError(response: Response, call: CallParameters): Promise<NodeProblemError> {
  let problem: NodeProblem | undefined;
  try {
    const body = (await response.json()) as Partial<NodeProblem>;
    if (typeof body.code === 'string' && typeof body.detail === 'string') {
      problem = {
        type: String(body.type ?? `urn:carekey:problem:${body.code}`),
        title: String(body.title ?? response.statusText),
        status: response.status,
        detail: body.detail,
        code: body.code,
      };
    }
  } catch {}
  problem ??= {
    type: 'about:blank',
    title: response.statusText,
    status: response.status,
    detail: `HTTP ${response.status} ${response.statusText}`.trim(),
    code: `http-${response.status}`,
  };
  return new NodeProblemError({
    problem,
    method: call.method,
    path: call.path.split('?', 1)[0] ?? call.path,
  });
}
