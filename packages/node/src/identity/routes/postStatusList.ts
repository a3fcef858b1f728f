import { CredentialError, parseDid, toDid, verifyStatusList } from '@carekey/sdk/identity';
import { Type } from '@sinclair/typebox';
import { type Address, isAddressEqual } from 'viem';
import { ApiError } from '../../api/ApiError.ts';
import type { ApiServices } from '../../api/ApiServices.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { logIdentityAttempt } from '../logIdentityAttempt.ts';
import { createNodeVerifier } from '../nodeVerifier.ts';
import { parseStatusListUri, writeStatusList } from '../statusListStore.ts';

const Body = Type.Object(
  {
    jwt: Type.String({
      maxLength: 65_536,
      description: 'the issuer-signed status list JWT (typ statuslist+jwt)',
    }),
  },
  { additionalProperties: false },
);

type Checked = { issuer: Address; listId: string; iat: number };
const checkedBodies = new WeakMap<object, Checked>();

async function verifyList({
  body,
  services,
}: {
  body: { jwt: string };
  services: ApiServices;
}): Promise<Address> {
  let claimed: Address | undefined;
  try {
    const payload = JSON.parse(Buffer.from(body.jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      iss?: unknown;
      sub?: unknown;
    };
    if (typeof payload.iss !== 'string' || typeof payload.sub !== 'string') {
      throw new CredentialError('status-unavailable', 'the status list has no iss or sub');
    }
    claimed = parseDid(payload.iss).address;
    const where = parseStatusListUri(payload.sub);
    if (where === undefined || !isAddressEqual(where.issuer, claimed)) {
      throw new CredentialError(
        'status-unavailable',
        "the list's sub must be <node>/v1/status-lists/<issuer address>/<list id>",
      );
    }
    const verifier = createNodeVerifier(services);
    const issuerDid = toDid({ address: claimed, chainId: services.chain.chainId });
    const owner = await verifier.resolveOwner(issuerDid);
    const list = await verifyStatusList({ ...verifier, jwt: body.jwt, owner, issuer: issuerDid });
    checkedBodies.set(body, { issuer: claimed, listId: where.listId, iat: list.iat });
    return claimed;
  } catch (error) {
    const refusal =
      error instanceof CredentialError
        ? error
        : new CredentialError('status-unavailable', 'the status list is not a JWT', { cause: error });
    await logIdentityAttempt({
      sql: services.sql,
      operation: 'publish-status-list',
      actor: claimed,
      outcome: 'refused',
      reason: refusal.reason,
    });
    throw new ApiError({ status: 400, code: 'invalid-status-list', detail: refusal.shortMessage });
  }
}

/**
 * `POST /v1/status-lists`: an issuer publishes (or updates) a Token Status List here. Accepted only when signed for
 * the issuer DID it names (its owner key, its ERC-1271 owner, or a veriKey delegate named by `kid`) and newer than the stored one; served at
 * `GET /v1/status-lists/{issuer}/{listId}`, and read locally when this node verifies credentials.
 */
export const postStatusList = defineRoute({
  operationId: 'postStatusList',
  method: 'POST',
  path: '/v1/status-lists',
  summary: 'Publish an issuer-signed Token Status List',
  tags: ['identity'],
  auth: 'signed-payload',
  body: Body,
  responses: {
    200: {
      description: 'stored',
      schema: Type.Object({ uri: Type.String(), iat: Type.Integer() }, { additionalProperties: false }),
    },
    400: { description: 'not a status list signed by the issuer it names (problem `invalid-status-list`)' },
    409: { description: 'a list with the same or a later iat is stored (problem `stale-status-list`)' },
  },
  verifyPayload: verifyList,
  handler: async ({ body, identity, services }) => {
    const checked = checkedBodies.get(body);
    if (checked === undefined) throw new Error('postStatusList: body was not verified');
    const stored = await writeStatusList(services.sql, { ...checked, jwt: body.jwt });
    if (!stored) {
      await logIdentityAttempt({
        sql: services.sql,
        operation: 'publish-status-list',
        actor: identity,
        outcome: 'refused',
        reason: 'stale-status-list',
      });
      throw new ApiError({
        status: 409,
        code: 'stale-status-list',
        detail: 'a status list with the same or a later iat is already published',
      });
    }
    await logIdentityAttempt({
      sql: services.sql,
      operation: 'publish-status-list',
      actor: identity,
      outcome: 'accepted',
    });
    return {
      status: 200,
      body: { uri: `/v1/status-lists/${checked.issuer}/${checked.listId}`, iat: checked.iat },
    };
  },
});
