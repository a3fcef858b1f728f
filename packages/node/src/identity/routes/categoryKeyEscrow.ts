import { dearmor, parseHeader } from '@carekey/sdk/crypto';
import { Type } from '@sinclair/typebox';
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes } from 'viem';
import { ApiError } from '../../api/ApiError.ts';
import type { ApiServices } from '../../api/ApiServices.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { AddressSchema } from '../../api/routes/schemas.ts';
import { logIdentityAttempt } from '../logIdentityAttempt.ts';

/** Largest sealed category key accepted (an armored age file with one X25519 stanza and 32 bytes is ≈ 330). */
export const MAX_SEALED_CATEGORY_KEY = 1024;

/**
 * Earlier seals kept per identity: the first this many (migration 014). A thief holding the identity's key may
 * re-seal as often as it likes; the patient's own seals, made before the theft, stay.
 */
export const MAX_EARLIER_SEALS = 64;

const KeyId = Type.String({
  pattern: '^0x[0-9a-fA-F]{64}$',
  description: 'HMAC-SHA256(key, "carekey/category-key-id")',
});
const Sealed = Type.String({
  minLength: 1,
  maxLength: MAX_SEALED_CATEGORY_KEY,
  description: 'the key as an armored age file with one X25519 stanza (the patient’s current key)',
});

/** What `GET /v1/identity/category-key` answers (`escrow` null: none kept yet — an ordinary state, not an error). */
export const CategoryKeyEscrowAnswer = Type.Object(
  {
    identity: AddressSchema,
    escrow: Type.Union([
      Type.Object(
        {
          keyId: KeyId,
          sealed: Sealed,
          updatedAt: Type.String(),
          earlier: Type.Array(Sealed, {
            maxItems: MAX_EARLIER_SEALS,
            description:
              'the seals accepted before `sealed`, newest first (the same key, sealed to earlier X25519 keys): a recovered device opens the one sealed to the key its shares give back, even after a thief re-sealed the escrow',
          }),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
  },
  { additionalProperties: false },
);

type Row = { key_id: Uint8Array; sealed: string; updated_at: Date | string };

/**
 * `GET /v1/identity/category-key`: the caller identity's category key escrow (sealed to its X25519 key, which only
 * the patient holds: the node cannot open it), or `escrow: null`. Signed by the key acting for the identity.
 */
export const getCategoryKey = defineRoute({
  operationId: 'getCategoryKey',
  method: 'GET',
  path: '/v1/identity/category-key',
  summary: 'My category key, sealed to my encryption key (kept across key rotations)',
  tags: ['identity'],
  auth: 'node-request',
  responses: {
    200: { description: 'the escrow, or null when none is kept yet', schema: CategoryKeyEscrowAnswer },
  },
  handler: async ({ identity, services }) => {
    const { rows } = await services.sql.query<Row>(
      'select key_id, sealed, updated_at from category_keys where identity = $1',
      [hexToBytes(identity)],
    );
    const row = rows[0];
    const earlier =
      row === undefined
        ? []
        : (
            await services.sql.query<{ sealed: string }>(
              'select sealed from category_key_seals where identity = $1 order by id desc',
              [hexToBytes(identity)],
            )
          ).rows
            .map((r) => r.sealed)
            .filter((sealed, at, all) => sealed !== row.sealed && all.indexOf(sealed) === at);
    return {
      status: 200,
      body: {
        identity: getAddress(identity),
        escrow:
          row === undefined
            ? null
            : {
                keyId: bytesToHex(row.key_id),
                sealed: row.sealed,
                updatedAt: new Date(row.updated_at).toISOString(),
                earlier,
              },
      },
    };
  },
});

async function refuse(
  services: ApiServices,
  actor: Address,
  status: number,
  code: string,
  detail: string,
): Promise<never> {
  await logIdentityAttempt({
    sql: services.sql,
    operation: 'category-key',
    actor,
    outcome: 'refused',
    reason: code,
  });
  throw new ApiError({ status, code, detail });
}

/**
 * `PUT /v1/identity/category-key`: escrows the caller identity's category key, or re-seals it to the identity's new
 * X25519 key (at each rotation and recovery). The key itself never changes: a `keyId` other than the one kept is
 * refused (409 `category-key-mismatch`), so neither a stolen key nor a client bug can split the identity's tags. The
 * body must be an armored age file with exactly one X25519 stanza (400 `invalid-sealed-key`). Every attempt is
 * logged in `identity_attempts` (`category-key`). Each accepted seal is also kept in `category_key_seals` (the first
 * {@link MAX_EARLIER_SEALS}), so a re-seal never takes away one the patient made.
 */
export const putCategoryKey = defineRoute({
  operationId: 'putCategoryKey',
  method: 'PUT',
  path: '/v1/identity/category-key',
  summary: 'Keep (or re-seal) my category key, sealed to my current encryption key',
  tags: ['identity'],
  auth: 'node-request',
  body: Type.Object({ keyId: KeyId, sealed: Sealed }, { additionalProperties: false }),
  responses: {
    200: {
      description: 'kept',
      schema: Type.Object({ keyId: KeyId, created: Type.Boolean() }, { additionalProperties: false }),
    },
    400: { description: '`invalid-sealed-key`: not an armored age file with one X25519 stanza' },
    409: { description: '`category-key-mismatch`: another key than the identity’s' },
  },
  handler: async ({ body, identity, services }) => {
    let stanzas: { type: string }[];
    try {
      stanzas = [...parseHeader(dearmor(body.sealed)).stanzas];
    } catch {
      stanzas = [];
    }
    if (stanzas.length !== 1 || stanzas[0]?.type !== 'X25519') {
      return refuse(
        services,
        identity,
        400,
        'invalid-sealed-key',
        'sealed must be an armored age file with exactly one X25519 stanza (the key sealed to your encryption key)',
      );
    }
    const keyId = body.keyId.toLowerCase() as Hex;
    const result = await services.sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ key_id: Uint8Array }>(
        'select key_id from category_keys where identity = $1 for update',
        [hexToBytes(identity)],
      );
      const kept = rows[0];
      if (kept !== undefined && bytesToHex(kept.key_id) !== keyId) return 'mismatch' as const;
      await tx.query(
        `insert into category_keys (identity, key_id, sealed) values ($1, $2, $3)
         on conflict (identity) do update set sealed = excluded.sealed, updated_at = now()`,
        [hexToBytes(identity), hexToBytes(keyId), body.sealed],
      );
      // Kept while the identity has fewer than MAX_EARLIER_SEALS (the row lock above orders concurrent re-seals).
      await tx.query(
        `insert into category_key_seals (identity, sealed)
         select $1, $2 where (select count(*) from category_key_seals where identity = $1) < $3`,
        [hexToBytes(identity), body.sealed, MAX_EARLIER_SEALS],
      );
      return kept === undefined ? ('created' as const) : ('resealed' as const);
    });
    if (result === 'mismatch') {
      return refuse(
        services,
        identity,
        409,
        'category-key-mismatch',
        'this identity already keeps another category key here: it is re-sealed at a rotation, never replaced',
      );
    }
    await logIdentityAttempt({
      sql: services.sql,
      operation: 'category-key',
      actor: identity,
      outcome: 'accepted',
    });
    return { status: 200, body: { keyId, created: result === 'created' } };
  },
});
