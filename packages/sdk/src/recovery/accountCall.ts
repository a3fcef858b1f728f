import { type Address, encodeFunctionData, type Hex } from 'viem';
import { ethereumDidRegistryAbi, recoveryAccountAbi } from '../chain/abi/index.ts';
import type { DidChange } from './recoveryTypedData.ts';

/**
 * What a `RecoveryAccount` calls for a change: a rotation sets the account's controller (recovery stays on, the
 * DID owner stays the account); the rest are the registry's owner-only functions for the identity.
 */
export function accountCall(
  identity: Address,
  change: DidChange,
  account: Address,
  didRegistry: Address,
): { target: Address; data: Hex } {
  switch (change.kind) {
    case 'changeOwner':
      return {
        target: account,
        data: encodeFunctionData({
          abi: recoveryAccountAbi,
          functionName: 'setController',
          args: [change.newOwner],
        }),
      };
    case 'addDelegate':
      return {
        target: didRegistry,
        data: encodeFunctionData({
          abi: ethereumDidRegistryAbi,
          functionName: 'addDelegate',
          args: [identity, change.delegateType, change.delegate, change.validity],
        }),
      };
    case 'revokeDelegate':
      return {
        target: didRegistry,
        data: encodeFunctionData({
          abi: ethereumDidRegistryAbi,
          functionName: 'revokeDelegate',
          args: [identity, change.delegateType, change.delegate],
        }),
      };
    case 'setAttribute':
      return {
        target: didRegistry,
        data: encodeFunctionData({
          abi: ethereumDidRegistryAbi,
          functionName: 'setAttribute',
          args: [identity, change.name, change.value, change.validity],
        }),
      };
  }
}
