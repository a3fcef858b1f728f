import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { defineRoute } from '../../api/defineRoute.ts';

/** Seconds a credential challenge stays usable. */
export const CHALLENGE_LIFETIME = 300;

/** `GET /v1/credentials/challenge`: a fresh one-use nonce (and this node's audience) to present a credential to. */
export const getCredentialChallenge = defineRoute({
  operationId: 'getCredentialChallenge',
  method: 'GET',
  path: '/v1/credentials/challenge',
  summary: 'A one-use nonce and the audience a credential presentation for this node must name',
  tags: ['identity'],
  auth: 'public',
  responses: {
    200: {
      description: 'the challenge',
      schema: Type.Object(
        { nonce: Type.String(), audience: Type.String(), expiresAt: Type.String() },
        { additionalProperties: false },
      ),
    },
  },
  handler: async ({ services }) => {
    const nonce = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + CHALLENGE_LIFETIME * 1000);
    await services.sql.query("delete from identity_challenges where expires_at < now() - interval '1 hour'");
    await services.sql.query('insert into identity_challenges (nonce, expires_at) values ($1, $2)', [
      nonce,
      expiresAt,
    ]);
    return { status: 200, body: { nonce, audience: services.audience, expiresAt: expiresAt.toISOString() } };
  },
});
