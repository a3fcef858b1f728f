import { checkKeyRequest } from '@carekey/sdk/protocol';
import { Type } from '@sinclair/typebox';
import { releaseKeys } from '../../vault/releaseKeys.ts';
import { defineRoute } from '../defineRoute.ts';
import { vaultCall } from './vaultCall.ts';
import { SignatureSchema } from './vaultSchemas.ts';

/** Body of `POST /v1/keys/release`: a signed `KeyRequest` envelope (`signKeyRequest`). */
export const KeyRequestEnvelope = Type.Object(
  {
    kind: Type.Literal('KeyRequest'),
    message: Type.Record(Type.String(), Type.Unknown()),
    signature: SignatureSchema,
  },
  { additionalProperties: false },
);

/** Answer of `POST /v1/keys/release`. */
export const KeyRelease = Type.Object(
  {
    grantee: Type.String(),
    grantId: Type.String(),
    accessLogId: Type.String(),
    records: Type.Array(
      Type.Object({
        recordId: Type.String(),
        blobId: Type.String(),
        stanza: Type.String(),
        leaf: Type.String(),
        proof: Type.Array(Type.String()),
        batchRoot: Type.Union([Type.String(), Type.Null()]),
        batchId: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
  },
  { additionalProperties: false },
);

/** Each request body's `checkKeyRequest` result, from `verifyPayload` to the handler (garbage-collected with it). */
const checkedBodies = new WeakMap<object, Awaited<ReturnType<typeof checkKeyRequest>>>();

/**
 * `POST /v1/keys/release`: the vault (docs/protocol.md flow 3). The access-log row is committed before the
 * stanzas are sent; every refusal is logged and answered with the same 403 `access-refused` problem (T-15).
 * `grantId` zero: the patient reading its own records.
 */
export const postKeysRelease = defineRoute({
  operationId: 'postKeysRelease',
  method: 'POST',
  path: '/v1/keys/release',
  summary: 'Release my stanzas of records under a grant (signed KeyRequest)',
  tags: ['vault'],
  auth: 'signed-payload',
  body: KeyRequestEnvelope,
  responses: {
    200: { description: 'the stanzas, after the access-log row was written', schema: KeyRelease },
    403: { description: 'refused (uniform body whatever the reason; the reason is in the audit log)' },
  },
  // Form, audience, freshness and signature only; the owner, nonce and grant checks run (and are logged) in the
  // vault, which reuses this check (one signature recovery per release).
  verifyPayload: async ({ body, services }) => {
    const checked = await checkKeyRequest(body, {
      domain: {
        chainId: services.vault.chain.chainId,
        verifyingContract: services.vault.chain.contracts.consentRegistry,
      },
      audience: services.vault.audience,
      ...(services.vault.now === undefined ? {} : { now: services.vault.now() }),
    });
    checkedBodies.set(body, checked);
    return checked.signer;
  },
  handler: async ({ body, services }) => {
    const checked = checkedBodies.get(body);
    const released = await vaultCall(() => releaseKeys({ vault: services.vault, envelope: body, checked }));
    return { status: 200, body: { ...released, accessLogId: String(released.accessLogId) } };
  },
});
