import {
  consentRegistryAbi,
  ethereumDidRegistryAbi,
  recordRegistryAbi,
  recoveryAbi,
} from '@carekey/sdk/chain';
import { type Address, type DecodeEventLogReturnType, decodeEventLog, type Hex, type Log } from 'viem';
import type { ContractName } from '../chain/Deployment.ts';

type Decoded =
  | DecodeEventLogReturnType<typeof ethereumDidRegistryAbi>
  | DecodeEventLogReturnType<typeof recordRegistryAbi>
  | DecodeEventLogReturnType<typeof consentRegistryAbi>
  | DecodeEventLogReturnType<typeof recoveryAbi>;

/** Where an event sits on the chain. */
export type EventPosition = {
  /** Which Carekey contract emitted it. */
  contract: ContractName;
  address: Address;
  blockNumber: bigint;
  blockHash: Hex;
  logIndex: number;
  txHash: Hex;
};

/**
 * One decoded Carekey contract event (`eventName` narrows `args`), e.g.
 * `{ eventName: 'GrantRevoked', args: { grantId, patient, grantee }, blockNumber, ... }`.
 */
export type IndexedEvent = Decoded & EventPosition;

/** Every event name the indexer decodes. */
export type IndexedEventName = IndexedEvent['eventName'];

const ABIS = {
  didRegistry: ethereumDidRegistryAbi,
  recordRegistry: recordRegistryAbi,
  consentRegistry: consentRegistryAbi,
  recovery: recoveryAbi,
} as const;

/**
 * Decodes one log of a Carekey contract with its ABI, or `undefined` for a log the ABI does not describe (or a
 * pending log without a block).
 */
export function decodeCarekeyLog(contract: ContractName, log: Log): IndexedEvent | undefined {
  if (
    log.blockNumber === null ||
    log.blockHash === null ||
    log.logIndex === null ||
    log.transactionHash === null
  )
    return undefined;
  let decoded: Decoded;
  try {
    decoded = decodeEventLog({
      abi: ABIS[contract],
      data: log.data,
      topics: log.topics,
      strict: true,
    }) as Decoded;
  } catch {
    return undefined;
  }
  return {
    ...decoded,
    contract,
    address: log.address,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    logIndex: log.logIndex,
    txHash: log.transactionHash,
  } as IndexedEvent;
}

/** `args` as JSON for `chain_events.args`: bigints become decimal strings, bytes stay 0x-hex. */
export function argsToJson(args: unknown): string {
  return JSON.stringify(args ?? {}, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
}
