/** A fault the portal explains itself (already in plain words). */
export class PortalError extends Error {
  override name = 'PortalError';
}

type Named = {
  name?: unknown;
  message?: unknown;
  shortMessage?: unknown;
  status?: unknown;
  code?: unknown;
  detail?: unknown;
};

const NODE_CODES: Record<string, string> = {
  'access-refused':
    'Access refused: there is no active share for this record (it was revoked, it has expired, or it never covered it). Ask the patient to share again.',
  'chain-unavailable':
    'The ledger cannot be read right now, so the node refuses to release anything. Try again shortly.',
  'not-owner': 'This wallet is not the owner of that identity.',
  'no-encryption-key':
    'That person has no Carekey key yet: they must create a wallet (and be online once) before you can share with them.',
  'not-found': 'The node does not know this item.',
};

/**
 * Turns any error into one sentence a patient can act on. Known faults (wrong passphrase, bad recovery phrase,
 * corrupt or non-FHIR file, malformed address, node unreachable, refused by the node) get their own words; anything
 * else keeps its short message after "Something went wrong".
 */
export function plainError(error: unknown): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Named;
  const name = typeof e.name === 'string' ? e.name : '';
  const short =
    typeof e.shortMessage === 'string'
      ? e.shortMessage
      : typeof e.message === 'string'
        ? e.message
        : String(error);
  switch (name) {
    case 'PortalError':
      return short;
    case 'WrongPassphraseError':
      return 'That passphrase does not open this wallet. Check it and try again; if it is lost, restore the wallet from its recovery phrase.';
    case 'InvalidMnemonicError':
      return `That recovery phrase is not valid: ${short.replace(/^invalid recovery phrase: /u, '')}. Check each word and its order.`;
    case 'WalletError':
      return `The wallet could not be opened or saved: ${short}.`;
    case 'FhirParseError':
      return `This file is not readable health data (FHIR JSON): ${short}. Nothing was imported.`;
    case 'FhirValidationError':
      return `This file is not valid FHIR R4: ${short}. Nothing was imported.`;
    case 'NodeUnreachableError':
      return 'Your Carekey node cannot be reached. Check your connection and try again; nothing was changed.';
    case 'NodeProblemError': {
      const code = typeof e.code === 'string' ? e.code : '';
      const detail = typeof e.detail === 'string' ? e.detail : short;
      const known = NODE_CODES[code];
      if (known !== undefined) return known;
      if (code === 'rate-limited') return rateLimitedWords(detail);
      if (e.status === 403) return `The node refused: ${detail}.`;
      return `The node could not do this: ${detail}.`;
    }
    case 'InvalidAddressError':
      return short;
    case 'RecoveryError':
      return recoveryWords(e as Named & { reason?: unknown; details?: Record<string, unknown> }, short);
    case 'IdentityRefError':
      return identityRefWords(
        e as Named & { reason?: unknown; details?: { chainId?: unknown; expected?: unknown } },
        short,
      );
    default:
      return `Something went wrong: ${short}`;
  }
}

/**
 * The node's 429 `rate-limited` (T-24: too many writes from one address or one identity in its window), with when
 * to retry from its detail ("too many requests from this address; retry after 42 s").
 */
function rateLimitedWords(detail: string): string {
  const seconds = Number(/retry after (\d+) s/u.exec(detail)?.[1] ?? Number.NaN);
  const when = Number.isFinite(seconds)
    ? seconds < 90
      ? `in ${seconds} second${seconds === 1 ? '' : 's'}`
      : `in about ${Math.ceil(seconds / 60)} minutes`
    : 'in a minute';
  const from = /this address/u.test(detail) ? 'from this address' : 'from you';
  return `Your Carekey node refused this: it had too many requests ${from} in a short time. Nothing was changed; try again ${when}.`;
}

/** The SDK's `parseIdentityRef` refusals, in the portal's words (the SDK's are a terminal's). */
function identityRefWords(
  e: { reason?: unknown; details?: { chainId?: unknown; expected?: unknown } },
  short: string,
): string {
  const quoted = /'(.*)'/u.exec(short)?.[1] ?? '';
  switch (e.reason) {
    case 'bad-checksum':
      return `“${quoted}” has a typing mistake: its mix of capital and small letters does not match the address's checksum. Copy or scan it again.`;
    case 'other-chain':
      return `That DID is on another network (chain ${String(e.details?.chainId)}); this node is on chain ${String(e.details?.expected)}.`;
    default:
      return `“${quoted}” is not a Carekey address. An address is 0x followed by 40 letters 0–9 and a–f, or a DID like did:ethr:0x7a69:0x….`;
  }
}

/** The SDK's recovery refusals (`@carekey/sdk/recovery`: guardian checks and share combination), in plain words. */
function recoveryWords(e: { reason?: unknown; details?: Record<string, unknown> }, short: string): string {
  const d = e.details ?? {};
  switch (e.reason) {
    case 'too-few-guardians':
      return 'Name at least two guardians: three, any two of whom can help, is common.';
    case 'too-many-guardians':
      return `Name at most ${short.replace(/\D+/gu, '')} guardians.`;
    case 'duplicate-guardian':
      return 'A guardian is named twice: each person can hold only one share.';
    case 'self-guardian':
      return 'You cannot be your own guardian: name people you trust, each with a Carekey wallet.';
    case 'invalid-threshold':
      return `How many guardians must help has to be from 2 to ${String(d.total)}: a single guardian must never be able to recover your wallet alone.`;
    case 'guardian-without-key':
      return `${String(d.guardian)} has no Carekey key yet: they must create a wallet (and open it once) before they can be your guardian. Nothing was made.`;
    case 'too-few-shares':
      return `Not enough pieces yet: ${short}. Ask another guardian for theirs; nothing was changed.`;
    case 'duplicate-share':
      return 'The same piece was given twice: each guardian’s piece counts once. Nothing was changed.';
    case 'mixed-sets':
    case 'stale-epoch':
    case 'wrong-set':
      return 'These pieces do not belong together (another set of guardians, or an older one). Ask your guardians for the pieces of your latest set; nothing was changed.';
    case 'corrupted-share':
      return `A piece was damaged on the way (${short}). Ask that guardian to send it again; nothing was changed.`;
    case 'secret-mismatch':
    case 'malformed-share':
      return 'These pieces do not give back a recovery phrase: one of them is not genuine. Nothing was changed.';
    default:
      return `Recovery could not go on: ${short}.`;
  }
}
