import { VaultInputError } from '@carekey/sdk/errors';
import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem';
import { logIdentityAttempt } from '../identity/logIdentityAttempt.ts';
import type { Vault } from './Vault.ts';
import { checkStanza, toBytes32 } from './vaultInput.ts';

/** Most stanzas one re-wrap call replaces. */
export const MAX_REWRAP_STANZAS = 1000;

export type RewrapOwnStanzasParameters = {
  vault: Vault;
  /** The verified patient (the signed request's identity). */
  identity: Address;
  /** The patient's own stanzas, wrapped to the new X25519 key, one per record. */
  stanzas: readonly { recordId: Hex; stanza: string }[];
};

export type RewrapOwnStanzasReturnType = { replaced: number };

/**
 * After a key rotation or a stolen-phone recovery (docs/recovery.md): replaces the patient's own stanzas with ones
 * wrapped to the new X25519 key, in one transaction; the old stanzas (wrapped to the key the thief may hold) are
 * gone when it commits. Only records of this patient that are active and hold a stanza for the patient qualify: a
 * record of another patient, a shredded one or an unknown one refuses the whole call and nothing changes. Grantees'
 * stanzas are untouched (they are wrapped to the grantees' keys). Logged as `rewrap-stanzas`.
 *
 * @throws {VaultInputError} `invalid-stanza` (400), `not-own-record` (403).
 */
export async function rewrapOwnStanzas(
  parameters: RewrapOwnStanzasParameters,
): Promise<RewrapOwnStanzasReturnType> {
  const { vault, identity } = parameters;
  if (
    !Array.isArray(parameters.stanzas) ||
    parameters.stanzas.length === 0 ||
    parameters.stanzas.length > MAX_REWRAP_STANZAS
  ) {
    throw new VaultInputError('invalid-stanza', `send 1 to ${MAX_REWRAP_STANZAS} stanzas`);
  }
  const seen = new Set<Hex>();
  const stanzas = parameters.stanzas.map((s, i) => {
    const recordId = toBytes32(s.recordId, `stanzas[${i}].recordId`);
    if (seen.has(recordId)) throw new VaultInputError('invalid-stanza', `stanzas[${i}].recordId repeats`);
    seen.add(recordId);
    return { recordId, stanza: checkStanza(s.stanza, `stanzas[${i}].stanza`) };
  });
  const reader = hexToBytes(identity);
  const ids = stanzas.map((s) => hexToBytes(s.recordId));
  const outcome = await vault.sql.transaction(async (tx) => {
    const { rows } = await tx.query<{ record_id: Uint8Array }>(
      `select r.record_id from records r join stanzas s on s.record_id = r.record_id and s.reader = $2
        where r.record_id = any($1) and r.patient = $2 and r.state = 'active'`,
      [ids, reader],
    );
    const own = new Set(rows.map((r) => bytesToHex(r.record_id)));
    const foreign = stanzas.find((s) => !own.has(s.recordId));
    if (foreign !== undefined) return { foreign: foreign.recordId };
    for (const s of stanzas) {
      await tx.query(
        'update stanzas set stanza = $3, created_at = now() where record_id = $1 and reader = $2',
        [hexToBytes(s.recordId), reader, s.stanza],
      );
    }
    await logIdentityAttempt({ sql: tx, operation: 'rewrap-stanzas', actor: identity, outcome: 'accepted' });
    return { replaced: stanzas.length };
  });
  if ('foreign' in outcome) {
    await logIdentityAttempt({
      sql: vault.sql,
      operation: 'rewrap-stanzas',
      actor: identity,
      outcome: 'refused',
      reason: 'not-own-record',
    });
    throw new VaultInputError(
      'not-own-record',
      `record ${outcome.foreign} is not an active record of yours`,
      {
        status: 403,
      },
    );
  }
  return outcome;
}
