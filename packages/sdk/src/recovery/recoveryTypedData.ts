import { type Address, encodePacked, type Hex, keccak256 } from 'viem';

/** What a patient chooses when turning on stolen-phone recovery (`Recovery.Settings`). */
export type RecoverySettings = {
  guardians: readonly Address[];
  threshold: number;
  /** Seconds from the k-th approval to the change, during which the current key can cancel. */
  delay: bigint;
  /** The Shamir share set anchored (`shareSetRoot` of `@carekey/sdk/recovery`), or zero. */
  shareSetRoot: Hex;
  shareEpoch: number;
};

/** `keccak256(abi.encodePacked(guardians))`: how `Enable` and `Configure` sign the guardian list. */
export function guardiansHash(guardians: readonly Address[]): Hex {
  return keccak256(encodePacked(['address[]'], [guardians as Address[]]));
}

const recoveryDomain = (chainId: number, verifyingContract: Address) =>
  ({ name: 'Carekey Recovery', version: '1', chainId, verifyingContract }) as const;

/** EIP-712 `Enable`: the identity's owner turns recovery on (`Recovery.enableSigned`). */
export function toEnableTypedData(parameters: {
  chainId: number;
  recovery: Address;
  identity: Address;
  controller: Address;
  settings: RecoverySettings;
  nonce: bigint;
  deadline: bigint;
}) {
  const { settings } = parameters;
  return {
    domain: recoveryDomain(parameters.chainId, parameters.recovery),
    types: {
      Enable: [
        { name: 'identity', type: 'address' },
        { name: 'controller', type: 'address' },
        { name: 'guardiansHash', type: 'bytes32' },
        { name: 'threshold', type: 'uint8' },
        { name: 'delay', type: 'uint64' },
        { name: 'shareSetRoot', type: 'bytes32' },
        { name: 'shareEpoch', type: 'uint32' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Enable',
    message: {
      identity: parameters.identity,
      controller: parameters.controller,
      guardiansHash: guardiansHash(settings.guardians),
      threshold: settings.threshold,
      delay: settings.delay,
      shareSetRoot: settings.shareSetRoot,
      shareEpoch: settings.shareEpoch,
      nonce: parameters.nonce,
      deadline: parameters.deadline,
    },
  } as const;
}

/**
 * EIP-712 `Configure`: the key in control changes guardians, threshold, delay or the anchored share set
 * (`Recovery.configureSigned`; checked through the identity's `RecoveryAccount`, ERC-1271).
 */
export function toConfigureTypedData(parameters: {
  chainId: number;
  recovery: Address;
  identity: Address;
  settings: RecoverySettings;
  nonce: bigint;
  deadline: bigint;
}) {
  const { settings } = parameters;
  return {
    domain: recoveryDomain(parameters.chainId, parameters.recovery),
    types: {
      Configure: [
        { name: 'identity', type: 'address' },
        { name: 'guardiansHash', type: 'bytes32' },
        { name: 'threshold', type: 'uint8' },
        { name: 'delay', type: 'uint64' },
        { name: 'shareSetRoot', type: 'bytes32' },
        { name: 'shareEpoch', type: 'uint32' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Configure',
    message: {
      identity: parameters.identity,
      guardiansHash: guardiansHash(settings.guardians),
      threshold: settings.threshold,
      delay: settings.delay,
      shareSetRoot: settings.shareSetRoot,
      shareEpoch: settings.shareEpoch,
      nonce: parameters.nonce,
      deadline: parameters.deadline,
    },
  } as const;
}

/** EIP-712 `Approve`: a guardian's current owner approves `newController` in `round` (`Recovery.approveSigned`). */
export function toApproveTypedData(parameters: {
  chainId: number;
  recovery: Address;
  message: { identity: Address; guardian: Address; newController: Address; round: bigint; deadline: bigint };
}) {
  return {
    domain: recoveryDomain(parameters.chainId, parameters.recovery),
    types: {
      Approve: [
        { name: 'identity', type: 'address' },
        { name: 'guardian', type: 'address' },
        { name: 'newController', type: 'address' },
        { name: 'round', type: 'uint64' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Approve',
    message: parameters.message,
  } as const;
}

/** EIP-712 `Cancel`: the identity's current key cancels the recovery under way (`Recovery.cancelSigned`). */
export function toCancelTypedData(parameters: {
  chainId: number;
  recovery: Address;
  message: { identity: Address; round: bigint; deadline: bigint };
}) {
  return {
    domain: recoveryDomain(parameters.chainId, parameters.recovery),
    types: {
      Cancel: [
        { name: 'identity', type: 'address' },
        { name: 'round', type: 'uint64' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Cancel',
    message: parameters.message,
  } as const;
}

/** EIP-712 `Execute` of a `RecoveryAccount`: its controller has it call `target` (`executeSigned`, relayed). */
export function toAccountExecuteTypedData(parameters: {
  chainId: number;
  account: Address;
  message: { target: Address; data: Hex; nonce: bigint; deadline: bigint };
}) {
  return {
    domain: {
      name: 'Carekey RecoveryAccount',
      version: '1',
      chainId: parameters.chainId,
      verifyingContract: parameters.account,
    },
    types: {
      Execute: [
        { name: 'target', type: 'address' },
        { name: 'data', type: 'bytes' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Execute',
    message: parameters.message,
  } as const;
}

/** An ERC-1056 change the owner signs (raw hash, `*Signed` functions of the registry). */
export type DidChange =
  | { kind: 'changeOwner'; newOwner: Address }
  | { kind: 'addDelegate'; delegateType: Hex; delegate: Address; validity: bigint }
  | { kind: 'revokeDelegate'; delegateType: Hex; delegate: Address }
  | { kind: 'setAttribute'; name: Hex; value: Hex; validity: bigint };

/**
 * The hash an identity's owner signs (raw secp256k1, no prefix) for an ERC-1056 `*Signed` call:
 * `keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce(owner) ‖ identity ‖ "<function>" ‖ arguments)`.
 */
export function didChangeHash(parameters: {
  didRegistry: Address;
  nonce: bigint;
  identity: Address;
  change: DidChange;
}): Hex {
  const { didRegistry, nonce, identity, change } = parameters;
  const head = ['0x19', '0x00', didRegistry, nonce, identity] as const;
  const types = ['bytes1', 'bytes1', 'address', 'uint256', 'address', 'string'] as const;
  switch (change.kind) {
    case 'changeOwner':
      return keccak256(encodePacked([...types, 'address'], [...head, 'changeOwner', change.newOwner]));
    case 'addDelegate':
      return keccak256(
        encodePacked(
          [...types, 'bytes32', 'address', 'uint256'],
          [...head, 'addDelegate', change.delegateType, change.delegate, change.validity],
        ),
      );
    case 'revokeDelegate':
      return keccak256(
        encodePacked(
          [...types, 'bytes32', 'address'],
          [...head, 'revokeDelegate', change.delegateType, change.delegate],
        ),
      );
    case 'setAttribute':
      return keccak256(
        encodePacked(
          [...types, 'bytes32', 'bytes', 'uint256'],
          [...head, 'setAttribute', change.name, change.value, change.validity],
        ),
      );
  }
}
