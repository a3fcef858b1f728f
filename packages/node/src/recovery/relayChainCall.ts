import { recoveryAbi, recoveryAccountAbi, toContractRevertError } from '@carekey/sdk/chain';
import { ContractRevertError } from '@carekey/sdk/errors';
import { type Abi, type Address, encodeFunctionData } from 'viem';
import { ApiError } from '../api/ApiError.ts';
import type { ApiServices } from '../api/ApiServices.ts';
import { logIdentityAttempt } from '../identity/logIdentityAttempt.ts';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { getOutboxEntry } from '../outbox/getOutboxEntry.ts';

/** How long a relaying route waits for its transaction before answering 202. */
export const RELAY_WAIT_MS = 20_000;

/**
 * Custom errors of `Recovery`, `RecoveryAccount` and the ERC-1056 registry → (HTTP status, problem code). Each code
 * is what the CLI explains in one line; nothing is sent to the chain when the dry run meets one of them.
 */
export const RECOVERY_REVERT_CODES: Readonly<Record<string, readonly [number, string]>> = {
  RecoveryNotEnabled: [404, 'recovery-off'],
  RecoveryAlreadyEnabled: [409, 'already-enabled'],
  RecoveryInvalidSignature: [401, 'bad-signature'],
  RecoverySignatureExpired: [401, 'expired'],
  RecoveryInvalidNonce: [409, 'stale-signature'],
  RecoveryInvalidConfig: [400, 'invalid-config'],
  RecoveryNotGuardian: [403, 'not-guardian'],
  RecoveryNotGuardianOwner: [403, 'not-guardian'],
  RecoveryAlreadyApproved: [409, 'already-approved'],
  RecoveryWrongRound: [409, 'stale-round'],
  RecoveryProposalMismatch: [409, 'other-key-pending'],
  RecoveryInvalidController: [400, 'invalid-key'],
  RecoveryNothingPending: [409, 'nothing-pending'],
  RecoveryNotReady: [409, 'not-ready'],
  RecoveryAccountNotOwner: [409, 'account-not-owner'],
  RecoveryAccountInvalidSignature: [401, 'bad-signature'],
  RecoveryAccountInvalidNonce: [409, 'stale-signature'],
  RecoveryAccountSignatureExpired: [401, 'expired'],
  RecoveryAccountUnauthorized: [403, 'not-controller'],
  RecoveryAccountZeroController: [400, 'invalid-key'],
  Error: [401, 'bad-signature'],
};

/** What each refusal means, in the words the CLI prints. */
const DETAILS: Readonly<Record<string, string>> = {
  'recovery-off': 'this identity has not turned recovery on',
  'already-enabled': 'recovery is already on for this identity',
  'bad-signature': 'the signature is not by the key that acts for this identity now',
  expired: 'the signature deadline has passed (chain time): sign again',
  'stale-signature': 'this signature was already used or is out of order: sign again',
  'invalid-config': 'guardians, threshold or delay are not acceptable',
  'not-guardian': 'this identity is not a guardian of that patient (or the signer is not its current key)',
  'already-approved': 'this guardian already approved this recovery',
  'stale-round':
    'this approval belongs to a recovery that was cancelled or completed: a replayed or stale approval counts for nothing',
  'other-key-pending': 'the guardians are approving another key in this recovery',
  'invalid-key': 'the new key is empty or already the one in control',
  'nothing-pending': 'no recovery is under way for this identity (none approved, or it was cancelled)',
  'not-ready': 'the recovery cannot execute yet: not enough approvals, or the delay has not passed',
  'account-not-owner': "the identity's DID owner is no longer its recovery account",
  'not-controller': 'only the key in control may do this',
};

export type RelayChainCallParameters = {
  services: ApiServices;
  /** What is attempted, for `identity_attempts` (`recovery-approve`, `did-change`…). */
  operation: string;
  /** Who acts (the guardian, the patient), as far as the request proves it. */
  actor: Address | undefined;
  /** `Contract.function`, the outbox kind. */
  call: string;
  to: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  /** Names the write (the signature it relays, or the state it moves): a retry adds nothing. */
  idempotencyKey: string;
  /**
   * Dry-run the call at the head first (default true). False only for a call whose signature was checked against
   * the state queued writes leave behind (the head cannot pass it yet); the chain still judges it, in order.
   */
  dryRun?: boolean;
};

export type RelayChainCallReturnType =
  | { status: 200; body: { transactionHash: string; blockNumber: string } }
  | { status: 202; body: { status: string } };

/** Logs a refused attempt and throws its problem. */
export async function refuseAttempt(
  services: ApiServices,
  attempt: { operation: string; actor: Address | undefined },
  status: number,
  code: string,
  detail: string,
): Promise<never> {
  await logIdentityAttempt({ sql: services.sql, ...attempt, outcome: 'refused', reason: code });
  throw new ApiError({ status, code, detail });
}

/**
 * Relays a signed chain call the way every identity write is relayed: a dry run first (a refusal costs no gas and
 * gets its contract's reason as a problem code, logged in `identity_attempts`), then the durable outbox, and the
 * answer once mined (202 if slower than {@link RELAY_WAIT_MS}: the write stays queued).
 *
 * @throws {ApiError} the mapped code of the contract's custom error, or 503 `chain-unavailable`.
 */
export async function relayChainCall(
  parameters: RelayChainCallParameters,
): Promise<RelayChainCallReturnType> {
  const { services, operation, actor, call, to, abi, functionName, args, idempotencyKey } = parameters;
  const { client } = services.chain;
  try {
    if (parameters.dryRun !== false)
      await client.simulateContract({ abi, address: to, functionName, args } as Parameters<
        typeof client.simulateContract
      >[0]);
  } catch (error) {
    const revert = toContractRevertError({
      call,
      error,
      abi: [...abi, ...recoveryAbi, ...recoveryAccountAbi] as Abi,
    });
    const known =
      revert instanceof ContractRevertError && revert.errorName
        ? RECOVERY_REVERT_CODES[revert.errorName]
        : undefined;
    if (known) {
      const detail = `${DETAILS[known[1]] ?? 'refused'} (${revert.shortMessage.replace(/^.* reverted with /u, '')})`;
      return refuseAttempt(services, { operation, actor }, known[0], known[1], detail);
    }
    throw new ApiError({
      status: 503,
      code: 'chain-unavailable',
      detail: 'the node cannot reach the chain; retry',
      cause: error,
    });
  }
  const data = encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0]);
  await enqueueOutbox({ sql: services.sql, kind: call, idempotencyKey, payload: { to, data } });
  services.outbox.wake();
  await logIdentityAttempt({ sql: services.sql, operation, actor, outcome: 'accepted' });
  const deadline = Date.now() + RELAY_WAIT_MS;
  for (;;) {
    const entry = await getOutboxEntry({ sql: services.sql, idempotencyKey });
    if (entry?.status === 'confirmed' && entry.txHash !== undefined && entry.blockNumber !== undefined) {
      return {
        status: 200,
        body: { transactionHash: entry.txHash, blockNumber: entry.blockNumber.toString() },
      };
    }
    if (entry?.status === 'failed') {
      throw new ApiError({ status: 409, code: 'chain-refused', detail: `${call} was refused on chain` });
    }
    if (entry === undefined || Date.now() > deadline) {
      return { status: 202, body: { status: entry?.status ?? 'pending' } };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
