import {
  type Abi,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type Hex,
  isHex,
  BaseError as ViemBaseError,
} from 'viem';
import { ChainError, ContractRevertError } from '../../errors/chain.ts';

export type ToContractRevertErrorParameters = {
  /** What was called, as `Contract.function` (named in the message). */
  call: string;
  /** The error thrown by viem (or anything else). */
  error: unknown;
  /** ABI used to decode raw revert data viem could not decode (e.g. a nested contract's errors). */
  abi?: Abi | undefined;
};

/** A {@link ContractRevertError} naming the custom error and its arguments, or a {@link ChainError} for anything else. */
export type ToContractRevertErrorReturnType = ContractRevertError | ChainError;

/**
 * Turns a viem call/transaction failure into a Carekey error.
 *
 * A revert becomes a `ContractRevertError` whose message reads like
 * `ConsentRegistry.createGrantSigned reverted with ConsentRegistryInvalidNonce(0xab…, 1, 0)`;
 * `require` reasons (the ERC-1056 registry's `bad_signature`) appear as `Error(bad_signature)`.
 * Transport failures become a `ChainError` keeping viem's error as `cause`.
 *
 * @example
 * try { await writeContract(client, request) } catch (error) { throw toContractRevertError({ call: 'RecordRegistry.publishBatch', error }) }
 */
export function toContractRevertError(
  parameters: ToContractRevertErrorParameters,
): ToContractRevertErrorReturnType {
  const { call, error, abi } = parameters;
  if (error instanceof ChainError) return error;
  if (error instanceof ViemBaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      if (reverted.data) return revertError(call, reverted.data.errorName, reverted.data.args ?? [], error);
      if (reverted.raw && abi) {
        try {
          const decoded = decodeErrorResult({ abi, data: reverted.raw });
          return revertError(call, decoded.errorName, decoded.args ?? [], error);
        } catch {
          // fall through: undecodable
        }
      }
      return new ContractRevertError(call, undefined, [], {
        cause: error,
        // Without revert data, viem's `reason` is only the node's "execution reverted".
        details: { raw: reverted.raw ?? revertData(error), reason: reverted.reason },
        hint: 'the revert data matches no error in the ABI: is the address the expected contract?',
      });
    }
    return new ChainError(`${call} failed: ${error.shortMessage}`, { cause: error });
  }
  return new ChainError(`${call} failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

/** Fix hints by custom-error suffix (the contracts name errors `<Contract><Problem>`). */
const HINTS: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /InvalidSignature$/,
    "sign with the identity's current owner key (identityOwner), for this chain id and contract",
  ],
  [
    /InvalidNonce$/,
    'this signature was already used or is out of order: sign again with the current nonces(identity)',
  ],
  [/SignatureExpired$/, 'the signature deadline passed (chain time): sign again'],
  [/NotIdentityOwner$/, "send from the identity's current owner, or relay a signature of that owner"],
  [/ExpiryInPast$/, 'choose an expiry after the current chain time'],
  [/ShredTooEarly$/, 'wait until the shred delay has passed (chain time)'],
];
const REASON_HINTS: Readonly<Record<string, string>> = {
  bad_signature: "sign with the identity's current owner key (identityOwner)",
  bad_actor: "send from the identity's current owner",
};

function revertError(
  call: string,
  errorName: string,
  args: readonly unknown[],
  cause: unknown,
): ContractRevertError {
  const hint =
    errorName === 'Error'
      ? REASON_HINTS[String(args[0])]
      : HINTS.find(([pattern]) => pattern.test(errorName))?.[1];
  return new ContractRevertError(call, errorName, args, hint ? { cause, hint } : { cause });
}

function revertData(error: ViemBaseError): Hex | undefined {
  const withData = error.walk((e) => isHex((e as { data?: unknown }).data));
  return withData ? ((withData as { data?: Hex }).data ?? undefined) : undefined;
}
