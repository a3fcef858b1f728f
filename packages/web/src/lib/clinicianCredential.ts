import { decrypt, encrypt, X25519Recipient } from '@carekey/sdk/crypto';
import {
  CLINICIAN_CLAIMS,
  CLINICIAN_VCT,
  type ClinicianClaim,
  createIdentityClient,
  parseIdentityRef,
  presentCredential,
  toDid,
  type VerifiedIdentity,
} from '@carekey/sdk/identity';
import { type Address, isAddressEqual } from 'viem';
import { emergencyClient } from './emergency.ts';
import { keepAccess, type OpenedEmergency, openReleased } from './emergencyAccesses.ts';
import { PortalError } from './errors.ts';
import { idbDelete, idbGet, idbSet } from './idb.ts';
import type { Session } from './session.ts';

export { CLINICIAN_CLAIMS, type ClinicianClaim, type OpenedEmergency, type VerifiedIdentity };

/** How each claim of a clinician credential reads. */
export const CLAIM_LABELS: Record<ClinicianClaim, string> = {
  role: 'Role',
  licence: 'Licence number',
  specialty: 'Specialty',
  organisation: 'Organisation',
};

/** The claims a clinician reveals unless they choose otherwise (the licence number stays hidden). */
export const DEFAULT_DISCLOSE: readonly ClinicianClaim[] = ['role', 'specialty', 'organisation'];

/** A clinician credential (SD-JWT VC) this browser holds for the session, with what it says. */
export type HeldCredential = {
  /** The SD-JWT as the issuer gave it (every disclosure). */
  raw: string;
  issuer: string;
  issuerName: string;
  subject: string;
  /** Seconds since epoch. */
  expiresAt: number;
  /** What each selectively disclosable claim says (only this browser sees the ones left out of a presentation). */
  claims: Partial<Record<ClinicianClaim, string>>;
};

const decoder = new TextDecoder();

function decodePart(part: string): unknown {
  const binary = atob(part.replace(/-/gu, '+').replace(/_/gu, '/'));
  return JSON.parse(decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
}

const NOT_A_CREDENTIAL =
  'This is not a Carekey clinician credential. Load the file your licensing board gave you (it comes from `carekey credential issue`).';

/**
 * Reads a credential file (what `carekey credential issue --out` writes) and checks it is a Carekey clinician
 * credential for this wallet's identity, not expired. The signatures, the issuer's standing and the status are the
 * node's checks, when it is presented.
 *
 * @throws {PortalError} not a credential, someone else's, or expired.
 */
export function readCredential(text: string, parameters: { me: Address; chainId: number }): HeldCredential {
  const raw = text.trim();
  const [jwt, ...disclosures] = raw.split('~');
  const payloadPart = jwt?.split('.')[1];
  if (payloadPart === undefined || disclosures.length === 0) throw new PortalError(NOT_A_CREDENTIAL);
  let payload: { iss?: unknown; sub?: unknown; exp?: unknown; vct?: unknown; issuer_name?: unknown };
  const claims: Partial<Record<ClinicianClaim, string>> = {};
  try {
    payload = decodePart(payloadPart) as typeof payload;
    for (const disclosure of disclosures) {
      if (disclosure === '') continue;
      const [, name, value] = decodePart(disclosure) as [unknown, unknown, unknown];
      if ((CLINICIAN_CLAIMS as readonly unknown[]).includes(name) && typeof value === 'string')
        claims[name as ClinicianClaim] = value;
    }
  } catch {
    throw new PortalError(NOT_A_CREDENTIAL);
  }
  if (
    payload.vct !== CLINICIAN_VCT ||
    typeof payload.sub !== 'string' ||
    typeof payload.iss !== 'string' ||
    Object.keys(claims).length === 0
  )
    throw new PortalError(NOT_A_CREDENTIAL);
  let subject: Address;
  try {
    subject = parseIdentityRef(payload.sub, { chainId: parameters.chainId });
  } catch {
    throw new PortalError(
      'This credential was issued on another Carekey network: ask your licensing board for one on this node’s.',
    );
  }
  if (!isAddressEqual(subject, parameters.me))
    throw new PortalError(
      `This credential was issued to someone else (${payload.sub}), not to you (${toDid({ address: parameters.me, chainId: parameters.chainId })}). Only the clinician it names can present it.`,
    );
  const expiresAt = typeof payload.exp === 'number' ? payload.exp : 0;
  if (expiresAt * 1000 <= Date.now())
    throw new PortalError(
      `This credential expired on ${new Date(expiresAt * 1000).toLocaleDateString('en-GB', { dateStyle: 'medium' })}: ask your licensing board for a new one.`,
    );
  return {
    raw,
    issuer: payload.iss,
    issuerName: typeof payload.issuer_name === 'string' ? payload.issuer_name : payload.iss,
    subject: payload.sub,
    expiresAt,
    claims,
  };
}

const storeKey = (session: Session) => `credential:${session.identity.toLowerCase()}`;

/** Keeps my credential in this browser, encrypted to my own key (never at rest in clear, UX 14). */
export async function saveCredential(session: Session, held: HeldCredential): Promise<void> {
  const sealed = await encrypt({
    recipients: [new X25519Recipient(session.keys.recipient)],
    plaintext: held.raw,
  });
  await idbSet(storeKey(session), sealed);
}

/** The credential this browser keeps for me, if any (decrypted with my unlocked key). */
export async function loadCredential(session: Session): Promise<HeldCredential | undefined> {
  const sealed = await idbGet<Uint8Array>(storeKey(session));
  if (sealed === undefined) return undefined;
  const text = decoder.decode(await decrypt({ identities: [session.keys.identity], ciphertext: sealed }));
  const { chainId } = await session.node.describe();
  try {
    return readCredential(text, { me: session.identity, chainId });
  } catch {
    return undefined; // expired, or kept from another network: load a new one
  }
}

export function forgetCredential(session: Session): Promise<void> {
  return idbDelete(storeKey(session));
}

/** A presentation for this node: only `disclose` revealed, key-bound to my DID's key, for the node's fresh nonce. */
async function presentationForNode(
  session: Session,
  held: HeldCredential,
  disclose: readonly ClinicianClaim[],
): Promise<string> {
  const identity = createIdentityClient({ url: session.node.url });
  const challenge = await identity.challenge();
  return presentCredential({
    credential: held.raw,
    disclose,
    privateKey: session.keys.privateKey,
    audience: challenge.audience,
    nonce: challenge.nonce,
  });
}

/**
 * Presents my credential to the node (as `carekey credential present`): the node verifies it (trusted issuer,
 * signatures, key binding, status, expiry) and shows patients the claims I revealed.
 */
export async function presentToNode(
  session: Session,
  held: HeldCredential,
  disclose: readonly ClinicianClaim[],
): Promise<VerifiedIdentity> {
  if (disclose.length === 0)
    throw new PortalError(
      'Reveal at least one claim (your role, for example): patients see only what you reveal.',
    );
  const presentation = await presentationForNode(session, held, disclose);
  return createIdentityClient({ url: session.node.url }).present(presentation);
}

/**
 * Breaks the glass on a patient's records (as `carekey emergency open`): a fresh presentation of my credential, a
 * signed `BreakGlass` for purpose ETREAT (at most 24 h), the released keys unwrapped and the records decrypted here.
 * The node logs it before it releases anything, records it on chain and notifies the patient and their guardians.
 * This browser keeps the access (its id, patient and end, sealed to my key) to re-open it while it runs.
 */
export async function breakGlass(
  session: Session,
  parameters: {
    patient: string;
    reason: string;
    everything: boolean;
    /** How long the access lasts (capped by the SDK at a minute short of 24 h). */
    seconds: number;
    held: HeldCredential | undefined;
    disclose: readonly ClinicianClaim[];
  },
): Promise<OpenedEmergency> {
  const { chainId } = await session.node.describe();
  const patient = parseIdentityRef(parameters.patient.trim(), { chainId });
  const reason = parameters.reason.trim();
  if (reason === '' || reason.length > 500)
    throw new PortalError('Say why you need emergency access (up to 500 characters): the patient reads it.');
  const presentation =
    parameters.held === undefined
      ? undefined
      : await presentationForNode(session, parameters.held, parameters.disclose);
  const access = await emergencyClient(session).open({
    patient,
    reason,
    recipient: session.keys.recipient,
    presentation,
    scope: parameters.everything ? 2 : 1,
    durationSeconds: parameters.seconds,
  });
  // Kept (sealed to my key) before anything is downloaded: the access runs whatever happens next, and I may need
  // to re-open it after leaving the page.
  await keepAccess(session, access);
  return openReleased(session, access);
}

const CREDENTIAL_REASONS: Record<string, string> = {
  revoked: 'your licensing board has revoked it',
  expired: 'it has expired',
  'not-yet-valid': 'it is not valid yet',
  'untrusted-issuer': 'its issuer is not a licensing board this node trusts',
  'bad-signature': 'its signature does not check out',
  'tampered-disclosure': 'it was altered',
  'status-unavailable': 'the node cannot read its issuer’s revocation list right now',
  'did-unresolvable': 'its DID cannot be resolved on this network',
  'subject-mismatch': 'it names another clinician',
  'wrong-audience': 'the presentation was made for another node',
  'wrong-nonce': 'the presentation answered an old challenge',
  'stale-presentation': 'the presentation is too old',
  malformed: 'it is not a valid credential',
};

/** Why a credential was refused, from the node's reason code, in words. */
export function credentialReasonWords(reason: string): string {
  return CREDENTIAL_REASONS[reason] ?? `the node refused it (${reason})`;
}

/**
 * The node's refusal of a credential presentation or a break-glass, in plain words (what happened, that nothing
 * was opened, what to do), or `undefined` for other errors (the portal's general words apply).
 */
export function emergencyRefusalWords(error: unknown): string | undefined {
  const e = error as { name?: unknown; code?: unknown; detail?: unknown; status?: unknown };
  if (e?.name !== 'NodeProblemError' || typeof e.code !== 'string') return undefined;
  const detail = typeof e.detail === 'string' ? e.detail : '';
  switch (e.code) {
    case 'no-credential':
      return 'Refused: emergency access needs your professional credential. Load it above, then try again. Nothing was opened.';
    case 'credential-refused': {
      const reason =
        /refused: ([a-z-]+)/u.exec(detail)?.[1] ??
        (/not the clinician/u.test(detail) ? 'subject-mismatch' : '');
      return `Refused: your credential does not hold — ${credentialReasonWords(reason)}. Nothing was opened; the attempt is in the patient’s log.`;
    }
    case 'policy-off':
      return 'Refused: this patient has not allowed emergency access (their policy is off). Nothing was opened; ask the patient or their family for consent.';
    case 'scope-not-allowed':
      return 'Refused: this patient allows their emergency summary only. Ask for the summary instead; nothing was opened.';
    case 'emergency-rate-limited':
      return 'Refused: you reached the limit of emergency accesses for now, and your uses are listed for review. Nothing was opened; try again later or ask a colleague.';
    case 'no-emergency-record':
      return 'Refused: this patient keeps no emergency summary on this node. Nothing was opened.';
    case 'replayed':
      return 'Refused: this request was already used. Try again (a fresh one is made each time); nothing was opened.';
    case 'self-access':
      return 'That is your own identity: open your records from Records instead.';
    case 'access-expired':
      return 'This emergency access has expired: it can no longer be re-opened, and nothing was opened. Break the glass again if you still need it (the patient is told again).';
    case 'unknown-access':
      return 'This node has no emergency access of yours with that id, so nothing was opened. Break the glass again if you still need it.';
    case 'invalid-expiry':
      return 'Refused: your device clock and the ledger disagree about the time. Check the clock, then try again; nothing was opened.';
    default:
      if (CREDENTIAL_REASONS[e.code] !== undefined)
        return `The node refused your credential: ${credentialReasonWords(e.code)}. Patients do not see it as verified.`;
      return undefined;
  }
}
