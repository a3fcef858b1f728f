import { ZERO_BYTES32 } from '@carekey/sdk/chain';
import {
  assembleHeader,
  decodeStanza,
  encodeStanza,
  parseHeader,
  unwrapFileKey,
  wrapFileKey,
  type X25519Identity,
  X25519Recipient,
} from '@carekey/sdk/crypto';
import { MAX_KEY_REQUEST_RECORDS } from '@carekey/sdk/protocol';
import type { Hex } from 'viem';
import { RecordStore } from '../home/recordStore.ts';
import { progress } from '../io/progress.ts';
import type { Session } from './openSession.ts';
import { syncRecords } from './syncRecords.ts';

export type RekeyRecordsParameters = {
  /** The session of the new key (its `keys.recipient` is the new X25519 key, already on the DID). */
  session: Session;
  /** The X25519 identity the patient's stanzas are wrapped to now (the old key). */
  old: X25519Identity;
  /** The wallet folder's record store as written for the old key, if this device has one. */
  oldStore?: RecordStore | undefined;
};

export type RekeyRecordsReturnType = { rewrapped: number; local: number; fetched: number };

/**
 * After a rotation (`carekey did rotate`, or a stolen-phone recovery): re-wraps every one of the patient's own
 * stanzas to the new X25519 key and replaces the old ones in the vault (`PUT /v1/records/stanzas`: the old ones are
 * deleted there), then rewrites the local copies (index and own age files) for the new key, and fetches what this
 * device did not have. The file keys are unwrapped here with the old key, never sent anywhere; the payloads are not
 * touched (no payload pass).
 */
export async function rekeyRecords(parameters: RekeyRecordsParameters): Promise<RekeyRecordsReturnType> {
  const { session, old, oldStore } = parameters;
  const { node, keys } = session;
  const to = new X25519Recipient(keys.recipient);
  const active = (await node.listRecords()).records.filter((r) => r.state === 'active');
  const fresh = new Map<string, string>();
  for (let i = 0; i < active.length; i += MAX_KEY_REQUEST_RECORDS) {
    const batch = active.slice(i, i + MAX_KEY_REQUEST_RECORDS);
    progress(`re-wrapping ${batch.length} record key(s) to your new key`);
    const released = await node.releaseKeys({
      grantId: ZERO_BYTES32,
      recordIds: batch.map((r) => r.recordId),
    });
    const stanzas: { recordId: Hex; stanza: string }[] = [];
    for (const item of released.records) {
      const fileKey = await unwrapFileKey({ stanzas: [decodeStanza(item.stanza)], identities: [old] });
      const stanza = encodeStanza(await wrapFileKey({ fileKey, recipient: to }));
      fileKey.fill(0);
      stanzas.push({ recordId: item.recordId, stanza });
      fresh.set(item.recordId.toLowerCase(), stanza);
    }
    if (stanzas.length > 0) {
      await node.call({ method: 'PUT', path: '/v1/records/stanzas', json: { stanzas }, signed: true });
    }
  }
  // The local copies: each own age file gets the new stanza (same payload), the index is re-encrypted.
  let local = 0;
  if (oldStore !== undefined) {
    const index = await oldStore.list(old);
    // Every copy held here (loose or packed: each pack rewritten once, over itself), so no old stanza is left.
    local = await oldStore.rewriteFiles(async (recordId, file) => {
      const header = parseHeader(file);
      const fileKey = await unwrapFileKey({ stanzas: header.stanzas, identities: [old] });
      const text = fresh.get(recordId.toLowerCase());
      const stanza = text === undefined ? await wrapFileKey({ fileKey, recipient: to }) : decodeStanza(text);
      const rewritten = assembleHeader({ fileKey, stanzas: [stanza] });
      fileKey.fill(0);
      const payload = file.subarray(header.length);
      const out = new Uint8Array(rewritten.length + payload.length);
      out.set(rewritten, 0);
      out.set(payload, rewritten.length);
      return out;
    });
    await session.store.save(index);
  }
  const { added } = await syncRecords(session);
  return { rewrapped: fresh.size, local, fetched: added };
}

/** The record store of a home for a recipient (to read the old index with the old key). */
export function storeFor(session: Session, recipient: string): RecordStore {
  return new RecordStore(session.home, recipient);
}
