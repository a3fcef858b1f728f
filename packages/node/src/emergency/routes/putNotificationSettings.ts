import { Type } from '@sinclair/typebox';
import { bytesToHex, getAddress, type Hex, hexToBytes, isAddressEqual } from 'viem';
import { ApiError } from '../../api/ApiError.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { readRecoveryGuardians } from '../../recovery/readRecovery.ts';
import { needEmergency } from '../openEmergencyAccess.ts';
import { checkWebhookTarget, newWebhookSecret, WebhookTargetError } from '../webhooks.ts';

const Settings = Type.Object(
  {
    guardians: Type.Array(AddressSchema, {
      maxItems: 20,
      description: 'identities whose feed shows the break-glass',
    }),
    webhook: Type.Union([
      Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false }),
      Type.Null(),
    ]),
  },
  { additionalProperties: false },
);

/**
 * `PUT /v1/notifications/settings`: whom the node tells about a break-glass or a recovery event of the signer —
 * guardians (their in-app feed) and a webhook. When stolen-phone recovery is on, the guardians are those of the
 * `Recovery` contract (the source of truth): the list sent must be empty or that same set, else 409
 * `guardians-mismatch` naming the contract's guardians, and nothing is stored. The webhook must be a public `https` URL (private, loopback and link-local
 * targets refused, T-21, unless the node allows them for tests); a new URL gets a new signing secret, answered
 * once (`webhookSecret`): deliveries carry `Carekey-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")`.
 */
export const putNotificationSettings = defineRoute({
  operationId: 'putNotificationSettings',
  method: 'PUT',
  path: '/v1/notifications/settings',
  summary: 'Set the guardians and the webhook told about a break-glass on your records',
  tags: ['notifications'],
  auth: 'node-request',
  body: Settings,
  responses: {
    200: {
      description: 'stored',
      schema: Type.Object(
        {
          guardians: Type.Array(AddressSchema),
          guardiansFrom: Type.Union([Type.Literal('recovery-contract'), Type.Literal('settings')]),
          webhook: Type.Union([Type.Object({ url: Type.String() }), Type.Null()]),
          webhookSecret: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    },
    400: {
      description: 'webhook-refused (not https, private or link-local target, unresolvable), self-guardian',
    },
    409: { description: "guardians-mismatch: not the guardians of the identity's Recovery contract" },
  },
  handler: async ({ body, identity, services }) => {
    const emergency = needEmergency(services);
    const guardians = [...new Set(body.guardians.map((g) => getAddress(g.toLowerCase())))];
    if (guardians.some((g) => isAddressEqual(g, identity))) {
      throw new ApiError({
        status: 400,
        code: 'self-guardian',
        detail: 'you are notified already as the patient',
      });
    }
    const fromContract = await readRecoveryGuardians(services, identity);
    if (fromContract !== undefined && guardians.length > 0) {
      const same =
        guardians.length === fromContract.length &&
        guardians.every((g) => fromContract.some((c) => isAddressEqual(c, g)));
      if (!same) {
        throw new ApiError({
          status: 409,
          code: 'guardians-mismatch',
          detail: `your Recovery contract names the guardians ${fromContract.join(', ')}: they are the ones notified (change them with carekey guardians setup)`,
        });
      }
    }
    let url: string | null = null;
    if (body.webhook !== null) {
      try {
        url = (
          await checkWebhookTarget(body.webhook.url, emergency.settings.allowPrivateWebhooks)
        ).url.toString();
      } catch (error) {
        if (error instanceof WebhookTargetError) {
          throw new ApiError({ status: 400, code: 'webhook-refused', detail: error.shortMessage });
        }
        throw error;
      }
    }
    const { rows } = await services.sql.query<{ webhook_url: string | null }>(
      'select webhook_url from notification_settings where patient = $1',
      [hexToBytes(identity)],
    );
    const fresh = url !== null && rows[0]?.webhook_url !== url;
    const secret = fresh ? newWebhookSecret() : undefined;
    await services.sql.query(
      `insert into notification_settings (patient, guardians, webhook_url, webhook_secret) values ($1, $2, $3, $4)
       on conflict (patient) do update set guardians = excluded.guardians, webhook_url = excluded.webhook_url,
         webhook_secret = case when excluded.webhook_url is null then null
                               when $5 then excluded.webhook_secret else notification_settings.webhook_secret end,
         updated_at = now()`,
      [
        hexToBytes(identity),
        (fromContract === undefined ? guardians : []).map((g) => hexToBytes(g as Hex)),
        url,
        secret ?? null,
        fresh,
      ],
    );
    return {
      status: 200,
      body: {
        guardians: (fromContract ?? guardians).map((g) => getAddress(bytesToHex(hexToBytes(g as Hex)))),
        guardiansFrom: fromContract === undefined ? ('settings' as const) : ('recovery-contract' as const),
        webhook: url === null ? null : { url },
        ...(secret === undefined ? {} : { webhookSecret: secret }),
      },
    };
  },
});
