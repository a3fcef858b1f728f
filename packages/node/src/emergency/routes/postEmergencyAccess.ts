import { Type } from '@sinclair/typebox';
import { defineRoute } from '../../api/defineRoute.ts';
import { AddressSchema, BlobIdSchema } from '../../api/routes/schemas.ts';
import { Bytes32Schema, SignatureSchema, UintSchema } from '../../api/routes/vaultSchemas.ts';
import {
  type BreakGlassBody,
  openEmergencyAccess,
  verifyBreakGlassSignature,
} from '../openEmergencyAccess.ts';

/** What a break-glass (or its re-read) answers. */
export const EmergencyAccessAnswer = Type.Object(
  {
    accessId: Bytes32Schema,
    patient: AddressSchema,
    clinician: AddressSchema,
    scope: Type.Union([Type.Literal('summary'), Type.Literal('all')]),
    expiresAt: Type.String(),
    records: Type.Array(
      Type.Object(
        { recordId: Bytes32Schema, blobId: BlobIdSchema, stanza: Type.String(), summary: Type.Boolean() },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Body = Type.Object(
  {
    clinician: AddressSchema,
    patient: AddressSchema,
    scope: Type.Union([Type.Literal('summary'), Type.Literal('all')]),
    purpose: Type.String({
      minLength: 1,
      maxLength: 32,
      description: 'HL7 PurposeOfUse; only ETREAT is accepted',
    }),
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      description: "the clinician's reason (never on chain)",
    }),
    recipient: Type.String({
      minLength: 1,
      maxLength: 100,
      description: "the clinician's age X25519 recipient",
    }),
    salt: Bytes32Schema,
    expiresAt: UintSchema,
    deadline: UintSchema,
    signature: SignatureSchema,
    presentation: Type.Optional(
      Type.String({
        maxLength: 16_384,
        description: 'SD-JWT VC presentation for a live GET /v1/credentials/challenge',
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * `POST /v1/emergency/access`: a credentialed clinician breaks the glass on a patient's emergency summary (or, for
 * policy `all`, every record the patient wrapped to the emergency key). The body carries the clinician's EIP-712
 * `BreakGlass` (its access id commits to purpose, reason, recipient and salt) and a fresh credential presentation.
 * Every refusal after the signature verifies is logged for the patient and the review list.
 */
export const postEmergencyAccess = defineRoute({
  operationId: 'postEmergencyAccess',
  method: 'POST',
  path: '/v1/emergency/access',
  summary: "Break the glass: a credentialed clinician opens a patient's emergency summary (purpose ETREAT)",
  tags: ['emergency'],
  auth: 'signed-payload',
  body: Body,
  responses: {
    201: { description: 'opened: the keys re-wrapped to the clinician', schema: EmergencyAccessAnswer },
    400: { description: 'invalid-recipient, invalid-expiry, self-access' },
    401: { description: 'bad-signature, signature-expired (not logged: no verified actor)' },
    403: { description: 'no-credential, credential-refused, policy-off, scope-not-allowed, wrong-purpose' },
    404: { description: 'no-emergency-record' },
    409: { description: 'replayed, chain-refused' },
    429: { description: 'emergency-rate-limited (listed for review)' },
  },
  verifyPayload: ({ body, services }) => verifyBreakGlassSignature(services, body as BreakGlassBody),
  handler: async ({ body, identity, services }) => ({
    status: 201,
    body: await openEmergencyAccess({ services, body: body as BreakGlassBody, clinician: identity }),
  }),
});
