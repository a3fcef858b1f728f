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
      if (reverted.data) {
        return new ContractRevertError(call, reverted.data.errorName, reverted.data.args ?? [], {
          cause: error,
        });
      }
      if (reverted.raw && abi) {
        try {
          const decoded = decodeErrorResult({ abi, data: reverted.raw });
          return new ContractRevertError(call, decoded.errorName, decoded.args ?? [], { cause: error });
        } catch {
          // fall through: undecodable
        }
      }
      if (reverted.reason) return new ContractRevertError(call, 'Error', [reverted.reason], { cause: error });
      return new ContractRevertError(call, undefined, [], {
        cause: error,
        details: { raw: reverted.raw ?? revertData(error) },
        hint: 'the revert data matches no error in the ABI: is the address the expected contract?',
      });
    }
    return new ChainError(`${call} failed: ${error.shortMessage}`, { cause: error });
  }
  return new ChainError(`${call} failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

function revertData(error: ViemBaseError): Hex | undefined {
  const withData = error.walk((e) => isHex((e as { data?: unknown }).data));
  return withData ? ((withData as { data?: Hex }).data ?? undefined) : undefined;
}
