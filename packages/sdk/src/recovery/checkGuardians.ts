/**
 * The checks a guardian set must pass before any share is made (docs/recovery.md), one place for the CLI's
 * `guardians setup` and the portal's Guardians page. Isomorphic.
 */
import { type Address, isAddressEqual } from 'viem';
import type { NodeClient } from '../client/createNodeClient.ts';
import { X25519Recipient } from '../crypto/x25519.ts';
import { RecoveryError } from '../errors/recovery.ts';

/** Fewest guardians a set may have. */
export const MIN_GUARDIANS = 2;
/** Most guardians a set may have (`Recovery.MAX_GUARDIANS`). */
export const MAX_GUARDIANS = 16;

export type CheckGuardianSetParameters = {
  /** The guardians' identities (already parsed: `parseIdentityRef`). */
  guardians: readonly Address[];
  /** The identity being protected (it cannot guard itself). */
  self: Address;
  /** How many guardians must help. */
  threshold: number;
};

/**
 * Refuses a guardian set that could not protect the patient: a guardian named twice, the patient as its own
 * guardian, fewer than two or more than sixteen guardians, a threshold outside 2..n (a single guardian must never
 * recover alone).
 *
 * @throws RecoveryError `duplicate-guardian`, `self-guardian`, `too-few-guardians`, `too-many-guardians`,
 *   `invalid-threshold` (the message is a terminal's line; `details` name the guardian or the numbers).
 */
export function checkGuardianSet(parameters: CheckGuardianSetParameters): void {
  const { guardians, self, threshold } = parameters;
  const seen = new Set<string>();
  for (const guardian of guardians) {
    const key = guardian.toLowerCase();
    if (seen.has(key))
      throw new RecoveryError('duplicate-guardian', 'a guardian is named twice', { details: { guardian } });
    seen.add(key);
  }
  if (guardians.some((g) => isAddressEqual(g, self))) {
    throw new RecoveryError('self-guardian', 'you cannot be your own guardian', {
      hint: 'name people you trust, each with a wallet',
    });
  }
  if (guardians.length < MIN_GUARDIANS) {
    throw new RecoveryError('too-few-guardians', 'name at least two guardians', {
      hint: 'three, with a threshold of two, is common',
      details: { total: guardians.length },
    });
  }
  if (guardians.length > MAX_GUARDIANS) {
    throw new RecoveryError('too-many-guardians', `name at most ${MAX_GUARDIANS} guardians`, {
      details: { total: guardians.length },
    });
  }
  if (!Number.isInteger(threshold) || threshold < MIN_GUARDIANS || threshold > guardians.length) {
    throw new RecoveryError(
      'invalid-threshold',
      `threshold must be 2 to ${guardians.length}, got ${String(threshold)}`,
      {
        hint: 'a single guardian must never be able to recover your wallet alone',
        details: { threshold, total: guardians.length },
      },
    );
  }
}

/**
 * Each guardian's published X25519 key (from its DID, through the node), in order: every guardian must have one
 * before anything is sealed.
 *
 * @throws RecoveryError `guardian-without-key` naming the first guardian without one (`details.guardian`);
 *   other node faults (unreachable…) as they are.
 */
export async function guardianRecipients(
  node: Pick<NodeClient, 'getDid'>,
  guardians: readonly Address[],
): Promise<X25519Recipient[]> {
  return Promise.all(
    guardians.map(async (guardian) => {
      const recipient = await node.getDid(guardian).then(
        (d) => d.recipient,
        (error: unknown) => {
          if ((error as { name?: string; status?: number }).status === 404) return undefined;
          throw error;
        },
      );
      if (!recipient) {
        throw new RecoveryError(
          'guardian-without-key',
          `guardian ${guardian} has no published encryption key`,
          {
            hint: 'they must run `carekey init` (or `carekey publish-key`) first',
            details: { guardian },
          },
        );
      }
      return new X25519Recipient(recipient);
    }),
  );
}
