import { decodeStanza, encodeStanza, unwrapFileKey, wrapFileKey, X25519Recipient } from '@carekey/sdk/crypto';
import {
  deriveAccessId,
  EmergencyPolicy,
  emergencyAbi,
  hashBreakGlass,
  MAX_EMERGENCY_ACCESS_SECONDS,
} from '@carekey/sdk/emergency';
import { CredentialError, parseDid, verifyPresentation } from '@carekey/sdk/identity';
import {
  type Address,
  bytesToHex,
  ContractFunctionRevertedError,
  encodeFunctionData,
  getAddress,
  type Hex,
  hexToBytes,
  isAddressEqual,
  recoverAddress,
  BaseError as ViemBaseError,
} from 'viem';
import { readContract, simulateContract } from 'viem/actions';
import { ApiError } from '../api/ApiError.ts';
import type { ApiServices } from '../api/ApiServices.ts';
import { readChain } from '../api/readChain.ts';
import type { SqlExecutor } from '../db/Sql.ts';
import { createNodeVerifier } from '../identity/nodeVerifier.ts';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { readRecoveryGuardians } from '../recovery/readRecovery.ts';
import { appendAccessLog } from '../vault/appendAccessLog.ts';
import type { EmergencyServices } from './EmergencyServices.ts';
import { emergencyWebhookBody } from './webhooks.ts';

/** The body of `POST /v1/emergency/access`. */
export type BreakGlassBody = {
  clinician: string;
  patient: string;
  scope: 'summary' | 'all';
  purpose: string;
  reason: string;
  recipient: string;
  salt: string;
  expiresAt: string;
  deadline: string;
  signature: string;
  presentation?: string | undefined;
};

/** A released record: payload id and file key re-wrapped to the clinician. */
export type ReleasedEmergencyRecord = { recordId: Hex; blobId: string; stanza: string; summary: boolean };

/** What a clinician receives. */
export type EmergencyAccessResult = {
  accessId: Hex;
  patient: Address;
  clinician: Address;
  scope: 'summary' | 'all';
  expiresAt: string;
  records: ReleasedEmergencyRecord[];
};

/** The emergency services, or 503 when the node runs without them. */
export function needEmergency(services: ApiServices): EmergencyServices {
  if (services.emergency === undefined) {
    throw new ApiError({
      status: 503,
      code: 'emergency-unavailable',
      detail: 'this node has no emergency key',
    });
  }
  return services.emergency;
}

/** The signed fields of a break-glass, as the contract checks them. */
export function breakGlassMessage(body: BreakGlassBody) {
  return {
    clinician: getAddress(body.clinician.toLowerCase()),
    patient: getAddress(body.patient.toLowerCase()),
    scope: body.scope === 'all' ? (2 as const) : (1 as const),
    accessId: deriveAccessId({
      salt: body.salt as Hex,
      purpose: body.purpose,
      reason: body.reason,
      recipient: body.recipient,
    }),
    expiresAt: BigInt(body.expiresAt),
    deadline: BigInt(body.deadline),
  };
}

/**
 * Checks a break-glass's EIP-712 signature: by the clinician identity's current owner, deadline ahead. Runs before
 * anything is logged (an unverified request has no actor to log: 401, like the vault's).
 *
 * @throws {ApiError} 401 `signature-expired` / `bad-signature`; 503 `chain-unavailable`.
 */
export async function verifyBreakGlassSignature(
  services: ApiServices,
  body: BreakGlassBody,
): Promise<Address> {
  const emergency = needEmergency(services);
  const message = breakGlassMessage(body);
  if (message.deadline < BigInt(Math.floor(Date.now() / 1000))) {
    throw new ApiError({
      status: 401,
      code: 'signature-expired',
      detail: 'the break-glass signature has expired',
    });
  }
  const digest = hashBreakGlass({
    chainId: services.chain.chainId,
    verifyingContract: emergency.contract,
    message,
  });
  let signer: Address | undefined;
  try {
    signer = await recoverAddress({ hash: digest, signature: body.signature as Hex });
  } catch {
    signer = undefined; // may still be an ERC-1271 owner's signature
  }
  const head = await readChain(() => services.vault.chain.head());
  const owner = await readChain(() => services.vault.chain.identityOwner(message.clinician, head.number));
  const accepted = await readChain(() =>
    services.vault.chain.ownerAccepts(
      owner,
      { signer, hash: digest, signature: body.signature as Hex },
      head.number,
    ),
  );
  if (!accepted) {
    throw new ApiError({
      status: 401,
      code: 'bad-signature',
      detail: "the break-glass is not signed by the clinician identity's current owner",
    });
  }
  return message.clinician;
}

/** A break-glass refusal: logged (access log, for the patient and the review list) before it is answered. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly logReason: string = code,
  ) {
    super(detail);
  }
}

function kbNonce(presentation: string): string | undefined {
  const kb = presentation.split('~').at(-1)?.split('.')[1];
  if (kb === undefined || kb === '') return undefined;
  try {
    const nonce = (JSON.parse(Buffer.from(kb, 'base64url').toString('utf8')) as { nonce?: unknown }).nonce;
    return typeof nonce === 'string' ? nonce : undefined;
  } catch {
    return undefined;
  }
}

/** Uses of a clinician in the window ending now (granted break-glasses). */
async function usesInWindow(sql: SqlExecutor, clinician: Address, windowSeconds: number): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `select count(*)::int as n from emergency_accesses
      where clinician = $1 and at > now() - ($2::text || ' seconds')::interval`,
    [hexToBytes(clinician), String(windowSeconds)],
  );
  return Number(rows[0]?.n ?? 0);
}

/** The patient's emergency stanzas of active records: the summary's, and every other's for scope `all`. */
async function emergencyStanzas(sql: SqlExecutor, patient: Address, scope: 'summary' | 'all') {
  const { rows } = await sql.query<{
    record_id: Uint8Array;
    blob_id: string;
    stanza: string;
    summary: boolean;
  }>(
    `select e.record_id, r.blob_id, e.stanza, e.summary from emergency_stanzas e
       join records r on r.record_id = e.record_id
      where e.patient = $1 and r.state = 'active' and (e.summary or $2)
      order by e.summary desc, r.created_at`,
    [hexToBytes(patient), scope === 'all'],
  );
  return rows;
}

/** Unwraps each stanza with the node's emergency key and wraps the file key to the clinician's recipient. */
async function rewrap(
  emergency: EmergencyServices,
  rows: Awaited<ReturnType<typeof emergencyStanzas>>,
  recipient: string,
): Promise<ReleasedEmergencyRecord[]> {
  const to = new X25519Recipient(recipient);
  const out: ReleasedEmergencyRecord[] = [];
  for (const row of rows) {
    const fileKey = await unwrapFileKey({
      stanzas: [decodeStanza(row.stanza)],
      // During a key rotation a stanza may still be for the key being replaced.
      identities:
        emergency.previous === undefined ? [emergency.identity] : [emergency.identity, emergency.previous],
    });
    const stanza = encodeStanza(await wrapFileKey({ fileKey, recipient: to }));
    fileKey.fill(0);
    out.push({ recordId: bytesToHex(row.record_id), blobId: row.blob_id, stanza, summary: row.summary });
  }
  return out;
}

/** The patient's current emergency stanzas, re-wrapped to `recipient` (a re-read of an open access). */
export async function rewrapEmergencyStanzas(
  services: ApiServices,
  patient: Address,
  scope: 'summary' | 'all',
  recipient: string,
): Promise<ReleasedEmergencyRecord[]> {
  return rewrap(needEmergency(services), await emergencyStanzas(services.sql, patient, scope), recipient);
}

/**
 * Whom to tell: the patient and its guardians — those of its `Recovery` configuration when stolen-phone recovery is
 * on (`fromContract`, the source of truth), else the ones it named to this node — and its webhook, if any.
 */
async function notificationTargets(
  sql: SqlExecutor,
  patient: Address,
  fromContract: readonly Address[] | undefined,
) {
  const { rows } = await sql.query<{ guardians: Uint8Array[]; webhook_url: string | null }>(
    'select guardians, webhook_url from notification_settings where patient = $1',
    [hexToBytes(patient)],
  );
  return {
    guardians: fromContract?.map((g) => hexToBytes(g)) ?? rows[0]?.guardians ?? [],
    webhookUrl: rows[0]?.webhook_url ?? null,
  };
}

/**
 * Opens a break-glass for a clinician whose `BreakGlass` signature checked out (`verifyBreakGlassSignature`):
 * purpose ETREAT, a fresh credential presentation (trusted issuer, signatures, key binding, status, expiry — the
 * node's one verifier, `verifyPresentation`, over a live one-use challenge), the patient's policy on chain, the
 * clinician's uses in the window below the limit, and an emergency record to release. Then, in one transaction:
 * the challenge is used up, the access and its access-log row are written, the `Emergency.recordBreakGlass` event
 * is queued in the outbox, and the patient and guardians are notified (feed rows, webhook deliveries). Only after
 * that commits are the re-wrapped keys returned (fail closed, R-6). Every refusal is logged first (T-16).
 *
 * @throws {ApiError} 400/403/404/409/429 with a code; 503 when the chain cannot be read.
 */
export async function openEmergencyAccess(parameters: {
  services: ApiServices;
  body: BreakGlassBody;
  clinician: Address;
}): Promise<EmergencyAccessResult> {
  const { services, body, clinician } = parameters;
  const emergency = needEmergency(services);
  const message = breakGlassMessage(body);
  const { patient } = message;
  const digest = hashBreakGlass({
    chainId: services.chain.chainId,
    verifyingContract: emergency.contract,
    message,
  });
  const logRefusal = async (refusal: Refusal) => {
    await appendAccessLog({
      tx: services.sql,
      patient,
      actor: clinician,
      action: 'break_glass',
      outcome: 'denied',
      reason: refusal.logReason,
      requestDigest: digest,
      signature: body.signature as Hex,
    });
    throw new ApiError({ status: refusal.status, code: refusal.code, detail: refusal.detail });
  };
  try {
    return await open();
  } catch (error) {
    if (error instanceof Refusal) return logRefusal(error);
    throw error;
  }

  async function open(): Promise<EmergencyAccessResult> {
    if (body.purpose !== 'ETREAT') {
      throw new Refusal(
        403,
        'wrong-purpose',
        `break-glass is for purpose ETREAT only, not '${body.purpose.slice(0, 32)}'`,
      );
    }
    if (isAddressEqual(clinician, patient))
      throw new Refusal(400, 'self-access', 'a patient reads its own records');
    try {
      new X25519Recipient(body.recipient);
    } catch {
      throw new Refusal(400, 'invalid-recipient', 'recipient is not an age X25519 recipient (age1…)');
    }
    const head = await readChain(() => services.vault.chain.head());
    if (
      message.expiresAt <= head.timestamp ||
      message.expiresAt > head.timestamp + BigInt(MAX_EMERGENCY_ACCESS_SECONDS)
    ) {
      throw new Refusal(400, 'invalid-expiry', 'a break-glass ends after now and at most 24 h from now');
    }
    // The credential: the same verifier as POST /v1/credentials, over a live challenge of this node.
    if (body.presentation === undefined || body.presentation === '') {
      throw new Refusal(403, 'no-credential', 'break-glass needs a provider credential presentation');
    }
    const nonce = kbNonce(body.presentation) ?? '';
    const live = await services.sql.query(
      'select 1 from identity_challenges where nonce = $1 and used_at is null and expires_at > now()',
      [nonce],
    );
    if (live.rows.length === 0) {
      throw new Refusal(
        409,
        'replayed',
        'the presentation does not answer a live challenge (replayed or stale)',
      );
    }
    let verified: Awaited<ReturnType<typeof verifyPresentation>>;
    try {
      verified = await verifyPresentation({
        presentation: body.presentation,
        audience: services.audience,
        nonce,
        ...createNodeVerifier(services),
      });
    } catch (error) {
      if (error instanceof CredentialError) {
        throw new Refusal(
          403,
          'credential-refused',
          `the credential was refused: ${error.reason}`,
          `credential:${error.reason}`,
        );
      }
      throw error;
    }
    if (!isAddressEqual(parseDid(verified.subject).address, clinician)) {
      throw new Refusal(
        403,
        'credential-refused',
        'the credential is not the clinician’s',
        'credential:subject-mismatch',
      );
    }
    const policy = await readChain(() =>
      readContract(services.chain.client, {
        abi: emergencyAbi,
        address: emergency.contract,
        functionName: 'policyOf',
        args: [patient],
        blockNumber: head.number,
      }),
    );
    if (policy === EmergencyPolicy.off)
      throw new Refusal(403, 'policy-off', 'the patient has not allowed emergency access');
    if (message.scope > policy) {
      throw new Refusal(403, 'scope-not-allowed', 'the patient allows the emergency summary only');
    }
    const before = await usesInWindow(services.sql, clinician, emergency.settings.windowSeconds);
    if (before >= emergency.settings.perClinician) {
      throw new Refusal(
        429,
        'emergency-rate-limited',
        `this clinician reached ${emergency.settings.perClinician} break-glass uses in ${emergency.settings.windowSeconds} s; it is listed for review`,
      );
    }
    const rows = await emergencyStanzas(services.sql, patient, body.scope);
    if (!rows.some((r) => r.summary)) {
      throw new Refusal(404, 'no-emergency-record', 'the patient has no emergency summary on this node');
    }
    const records = await rewrap(emergency, rows, body.recipient);
    const args = [
      clinician,
      patient,
      message.scope,
      message.accessId,
      message.expiresAt,
      message.deadline,
      body.signature as Hex,
    ] as const;
    const call = encodeFunctionData({ abi: emergencyAbi, functionName: 'recordBreakGlass', args });
    try {
      await simulateContract(services.chain.client, {
        account: services.chain.client.account,
        abi: emergencyAbi,
        address: emergency.contract,
        functionName: 'recordBreakGlass',
        args,
      });
    } catch (cause) {
      const reverted =
        cause instanceof ViemBaseError ? cause.walk((e) => e instanceof ContractFunctionRevertedError) : null;
      const name = reverted instanceof ContractFunctionRevertedError ? reverted.data?.errorName : undefined;
      if (name === 'EmergencyAccessIdUsed')
        throw new Refusal(409, 'replayed', 'this break-glass was already recorded');
      if (name !== undefined)
        throw new Refusal(409, 'chain-refused', `the Emergency contract refused it (${name})`);
      throw new ApiError({
        status: 503,
        code: 'chain-unavailable',
        detail: 'the node cannot reach the chain; retry',
        cause,
      });
    }
    const expiresAt = new Date(Number(message.expiresAt) * 1000);
    const accessId = hexToBytes(message.accessId);
    const claims = verified.claims as Record<string, string>;
    let inWindow = before;
    let flagged = before + 1 >= emergency.settings.flagAfter;
    const contractGuardians = await readRecoveryGuardians(services, patient);
    const committed = await services.sql.transaction(async (tx): Promise<boolean | 'rate-limited'> => {
      // One clinician's break-glasses one at a time, so parallel requests cannot pass the limit together (F-15).
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`emergency:${clinician.toLowerCase()}`]);
      // Counted again under the lock: a parallel request of the same clinician may have committed since the count
      // above; the limit holds on this count (not on equality with the first, which refused a request still
      // within the limit whenever another one went first).
      inWindow = await usesInWindow(tx, clinician, emergency.settings.windowSeconds);
      if (inWindow >= emergency.settings.perClinician) return 'rate-limited';
      flagged = inWindow + 1 >= emergency.settings.flagAfter;
      const used = await tx.query(
        'update identity_challenges set used_at = now() where nonce = $1 and used_at is null and expires_at > now() returning 1',
        [nonce],
      );
      if (used.rowCount === 0) return false;
      const inserted = await tx.query<{ at: Date }>(
        `insert into emergency_accesses (access_id, patient, clinician, scope, purpose, reason, recipient, expires_at,
           issuer, issuer_name, claims, status_uri, status_idx, credential_expires_at, request_digest, signature,
           uses_in_window, flagged)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         on conflict (access_id) do nothing returning at`,
        [
          accessId,
          hexToBytes(patient),
          hexToBytes(clinician),
          body.scope,
          body.purpose,
          body.reason,
          body.recipient,
          expiresAt,
          hexToBytes(parseDid(verified.issuer).address),
          verified.issuerName,
          JSON.stringify(claims),
          verified.status.uri,
          verified.status.idx,
          verified.expiresAt,
          hexToBytes(digest),
          hexToBytes(body.signature as Hex),
          inWindow + 1,
          flagged,
        ],
      );
      const at = inserted.rows[0]?.at;
      if (at === undefined) return false;
      await appendAccessLog({
        tx,
        patient,
        actor: clinician,
        action: 'break_glass',
        recordIds: records.map((r) => r.recordId),
        outcome: 'allowed',
        reason: flagged ? 'emergency:flagged' : 'emergency',
        requestDigest: digest,
        signature: body.signature as Hex,
      });
      await enqueueOutbox({
        sql: tx,
        kind: 'Emergency.recordBreakGlass',
        idempotencyKey: digest,
        payload: { to: emergency.contract, data: call },
      });
      const targets = await notificationTargets(tx, patient, contractGuardians);
      await tx.query(
        `insert into notifications (recipient, role, kind, patient, access_id) values ($1, 'patient', 'emergency-access', $1, $2)`,
        [hexToBytes(patient), accessId],
      );
      for (const guardian of targets.guardians) {
        await tx.query(
          `insert into notifications (recipient, role, kind, patient, access_id) values ($1, 'guardian', 'emergency-access', $2, $3)`,
          [guardian, hexToBytes(patient), accessId],
        );
      }
      if (targets.webhookUrl !== null) {
        await tx.query('insert into webhook_deliveries (patient, url, body) values ($1, $2, $3)', [
          hexToBytes(patient),
          targets.webhookUrl,
          emergencyWebhookBody({ accessId, clinician, scope: body.scope, at: new Date(at), expiresAt }),
        ]);
      }
      return true;
    });
    if (committed === 'rate-limited') {
      throw new Refusal(
        429,
        'emergency-rate-limited',
        `this clinician reached ${emergency.settings.perClinician} break-glass uses in ${emergency.settings.windowSeconds} s; it is listed for review`,
      );
    }
    if (!committed)
      throw new Refusal(409, 'replayed', 'this break-glass request or presentation was already used');
    services.outbox.wake();
    emergency.wakeWebhooks();
    return {
      accessId: message.accessId,
      patient,
      clinician,
      scope: body.scope,
      expiresAt: expiresAt.toISOString(),
      records,
    };
  }
}
