import type {
  Abi,
  Address,
  ContractFunctionArgs,
  ContractFunctionName,
  Hash,
  SimulateContractParameters,
  TransactionReceipt,
  WriteContractParameters,
} from 'viem';
import { ContractRevertError } from '../../errors/chain.ts';
import type { ChainClient } from './ChainClient.ts';
import { toContractRevertError } from './toContractRevertError.ts';

export type WriteContractAndWaitParameters<
  abi extends Abi,
  functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
> = {
  client: ChainClient;
  abi: abi;
  address: Address;
  /** Contract name used in error messages, e.g. `ConsentRegistry`. */
  contractName: string;
  functionName: functionName;
  args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>;
};

export type WriteContractAndWaitReturnType = {
  hash: Hash;
  receipt: TransactionReceipt;
};

/**
 * Simulates a contract write (so a revert is decoded before anything is sent),
 * sends it from the client's account and waits for its receipt.
 *
 * @throws {ContractRevertError} the call reverts, in simulation or once mined.
 * @throws {ChainError} transport failure.
 */
export async function writeContractAndWait<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(parameters: WriteContractAndWaitParameters<abi, functionName>): Promise<WriteContractAndWaitReturnType> {
  const { client, abi, address, contractName, functionName, args } = parameters;
  const call = `${contractName}.${String(functionName)}`;
  // viem cannot follow a generic `abi` through `simulateContract`'s inference; the
  // signature above already ties functionName and args to the ABI.
  const simulation = { abi, address, functionName, args } as unknown as SimulateContractParameters;
  let hash: Hash;
  try {
    const { request } = await client.simulateContract(simulation);
    hash = await client.writeContract(request as WriteContractParameters);
  } catch (error) {
    throw toContractRevertError({ call, error, abi });
  }
  let receipt: TransactionReceipt;
  try {
    receipt = await client.waitForTransactionReceipt({ hash });
  } catch (error) {
    throw toContractRevertError({ call, error, abi });
  }
  if (receipt.status !== 'success') {
    // Mined but reverted (state moved between simulation and inclusion): replay it at that block to name the error.
    try {
      await client.simulateContract({
        ...simulation,
        blockNumber: receipt.blockNumber,
      } as SimulateContractParameters);
    } catch (error) {
      throw toContractRevertError({ call, error, abi });
    }
    throw new ContractRevertError(call, undefined, [], { details: { hash } });
  }
  return { hash, receipt };
}
