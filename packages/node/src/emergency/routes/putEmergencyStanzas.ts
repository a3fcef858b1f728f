import { decodeStanza, unwrapFileKey } from '@carekey/sdk/crypto';
import { Type } from '@sinclair/typebox';
import { type Hex, hexToBytes } from 'viem';
import { ApiError } from '../../api/ApiError.ts';
import { defineRoute } from '../../api/defineRoute.ts';
import { Bytes32Schema, StanzaSchema } from '../../api/routes/vaultSchemas.ts';
import { checkStanza } from '../../vault/vaultInput.ts';
import { needEmergency } from '../openEmergencyAccess.ts';

const Entry = Type.Object({ recordId: Bytes32Schema, stanza: StanzaSchema }, { additionalProperties: false });

/**
 * `PUT /v1/emergency/stanzas`: replaces the patient's emergency stanzas — its summary record's file key wrapped to
 * the node's emergency key, and (policy `all`) every other record's. All or nothing: every record must be the
 * signer's and active, every stanza one X25519 stanza that the emergency key opens (so a break-glass never fails on
 * a stale or foreign stanza). `{ summary: null, records: [] }` removes them all.
 */
export const putEmergencyStanzas = defineRoute({
  operationId: 'putEmergencyStanzas',
  method: 'PUT',
  path: '/v1/emergency/stanzas',
  summary: "Replace the patient's emergency stanzas (summary, and every record for policy all)",
  tags: ['emergency'],
  auth: 'node-request',
  body: Type.Object(
    {
      summary: Type.Union([Entry, Type.Null()]),
      records: Type.Array(Entry, { maxItems: 5000 }),
    },
    { additionalProperties: false },
  ),
  responses: {
    200: {
      description: 'stored',
      schema: Type.Object(
        { summary: Type.Union([Type.String(), Type.Null()]), records: Type.Integer() },
        { additionalProperties: false },
      ),
    },
    400: { description: 'invalid-stanza, not-for-emergency-key, duplicate-record' },
    403: { description: 'not-your-record (another patient’s, unknown, or no longer active)' },
  },
  handler: async ({ body, identity, services }) => {
    const emergency = needEmergency(services);
    const entries = [...(body.summary === null ? [] : [{ ...body.summary, summary: true }])].concat(
      body.records.map((r) => ({ ...r, summary: false })),
    );
    const seen = new Set<string>();
    for (const [i, entry] of entries.entries()) {
      const field = entry.summary
        ? 'summary.stanza'
        : `records[${i - (body.summary === null ? 0 : 1)}].stanza`;
      const id = entry.recordId.toLowerCase();
      if (seen.has(id)) {
        throw new ApiError({ status: 400, code: 'duplicate-record', detail: `record ${id} is listed twice` });
      }
      seen.add(id);
      const stanza = decodeStanza(checkStanza(entry.stanza, field));
      if (stanza.type !== 'X25519') {
        throw new ApiError({
          status: 400,
          code: 'invalid-stanza',
          detail: `${field} must be an X25519 stanza`,
        });
      }
      try {
        (await unwrapFileKey({ stanzas: [stanza], identities: [emergency.identity] })).fill(0);
      } catch {
        throw new ApiError({
          status: 400,
          code: 'not-for-emergency-key',
          detail: `${field} is not wrapped to this node's emergency key (GET /v1/emergency gives its recipient)`,
        });
      }
    }
    const ids = entries.map((e) => hexToBytes(e.recordId as Hex));
    if (ids.length > 0) {
      const { rows } = await services.sql.query<{ n: number }>(
        `select count(*)::int as n from records where record_id = any($1) and patient = $2 and state = 'active'`,
        [ids, hexToBytes(identity)],
      );
      if (Number(rows[0]?.n) !== ids.length) {
        throw new ApiError({
          status: 403,
          code: 'not-your-record',
          detail: 'every record must be one of yours, published and active',
        });
      }
    }
    await services.sql.transaction(async (tx) => {
      await tx.query('delete from emergency_stanzas where patient = $1', [hexToBytes(identity)]);
      for (const entry of entries) {
        await tx.query(
          'insert into emergency_stanzas (record_id, patient, summary, stanza) values ($1, $2, $3, $4)',
          [hexToBytes(entry.recordId as Hex), hexToBytes(identity), entry.summary, entry.stanza],
        );
      }
    });
    return {
      status: 200,
      body: { summary: body.summary?.recordId.toLowerCase() ?? null, records: body.records.length },
    };
  },
});
