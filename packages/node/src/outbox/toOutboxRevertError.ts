import { ContractRevertError } from '@carekey/sdk/errors';
import {
  type Abi,
  ContractFunctionRevertedError,
  decodeErrorResult,
  ExecutionRevertedError,
  type Hex,
  isHex,
  BaseError as ViemBaseError,
} from 'viem';

/**
 * If `error` says the contract refused the call (a revert), the decoded
 * {@link ContractRevertError} (custom error and arguments, `Error(string)` or
 * `Panic(uint256)`); `undefined` for anything else (transport, RPC, funds...),
 * which the outbox retries.
 */
export function toOutboxRevertError(
  kind: string,
  error: unknown,
  abi: Abi | undefined,
): ContractRevertError | undefined {
  if (!(error instanceof ViemBaseError)) return undefined;
  const reverted = error.walk(
    (e) => e instanceof ContractFunctionRevertedError || e instanceof ExecutionRevertedError,
  );
  if (!reverted) return undefined;
  if (reverted instanceof ContractFunctionRevertedError && reverted.data)
    return new ContractRevertError(kind, reverted.data.errorName, reverted.data.args ?? [], { cause: error });
  const data = revertData(error);
  if (data && data.length >= 10) {
    try {
      // Without an ABI viem still decodes Error(string) and Panic(uint256).
      const decoded = decodeErrorResult({ abi: abi ?? [], data });
      return new ContractRevertError(kind, decoded.errorName, decoded.args ?? [], { cause: error });
    } catch {
      // fall through: undecodable
    }
  }
  return new ContractRevertError(kind, undefined, [], {
    cause: error,
    details: { raw: data },
    hint: 'pass the contract ABI to the outbox worker to decode custom errors',
  });
}

function revertData(error: ViemBaseError): Hex | undefined {
  let found: Hex | undefined;
  error.walk((e) => {
    const data = (e as { data?: unknown }).data;
    if (isHex(data)) found = data;
    else if (typeof data === 'object' && data !== null && isHex((data as { data?: unknown }).data))
      found = (data as { data: Hex }).data;
    return false;
  });
  return found;
}
