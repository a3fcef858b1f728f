/**
 * Stolen-phone recovery and DID changes through a Carekey node (docs/recovery.md): every call is signed here, with
 * the caller's key, and relayed by the node (which pays gas). Isomorphic.
 */
import { type Address, getAddress, type Hex, type LocalAccount, zeroHash } from 'viem';
import type { NodeClient } from '../client/createNodeClient.ts';
import type { TxReceipt } from '../client/types.ts';
import { accountCall } from './accountCall.ts';
import {
  type DidChange,
  didChangeHash,
  type RecoverySettings,
  toAccountExecuteTypedData,
  toApproveTypedData,
  toCancelTypedData,
  toConfigureTypedData,
  toEnableTypedData,
} from './recoveryTypedData.ts';

/** Lifetime of a recovery signature, seconds. */
const TTL = 600n;
const deadline = () => BigInt(Math.floor(Date.now() / 1000)) + TTL;

/** `GET /v1/recovery/{address}` (decimal strings for chain integers). */
export type RecoveryStateBody = {
  identity: Address;
  recovery: Address;
  owner: Address;
  ownerNonce: string;
  enabled: boolean;
  account: Address;
  controller: Address | null;
  guardians: Address[];
  threshold: number;
  delay: string;
  round: string;
  shareSetRoot: Hex;
  shareEpoch: number;
  nonce: string;
  pending: { newController: Address; approvals: number; readyAt: string } | null;
  approvedBy: Address[];
  chainTime: string;
};

/** An identity's stolen-phone recovery state. */
export function getRecovery(node: NodeClient, identity: Address): Promise<RecoveryStateBody> {
  return node.call({ method: 'GET', path: `/v1/recovery/${getAddress(identity)}` });
}

async function sign(account: LocalAccount, hash: Hex): Promise<Hex> {
  if (account.sign === undefined) throw new Error('this account cannot sign a raw hash');
  return account.sign({ hash });
}

export type EnableRecoveryParameters = {
  node: NodeClient;
  /** The identity's current owner key. */
  account: LocalAccount;
  identity: Address;
  settings: Omit<RecoverySettings, 'shareSetRoot' | 'shareEpoch'> & Partial<RecoverySettings>;
};

/**
 * Turns on stolen-phone recovery: the identity's DID owner becomes its `RecoveryAccount`, controlled by the
 * current key; k of the guardians can later approve a new key, which takes effect after the delay unless the key
 * in control cancels.
 */
export async function enableRecovery(parameters: EnableRecoveryParameters): Promise<TxReceipt> {
  const { node, account, identity } = parameters;
  const [state, description] = await Promise.all([getRecovery(node, identity), node.describe()]);
  const settings: RecoverySettings = {
    shareSetRoot: zeroHash,
    shareEpoch: 0,
    ...parameters.settings,
  };
  const until = deadline();
  const signature = await account.signTypedData(
    toEnableTypedData({
      chainId: description.chainId,
      recovery: state.recovery,
      identity,
      controller: account.address,
      settings,
      nonce: BigInt(state.nonce),
      deadline: until,
    }),
  );
  const didSignature = await sign(
    account,
    didChangeHash({
      didRegistry: description.contracts.didRegistry,
      nonce: BigInt(state.ownerNonce),
      identity,
      change: { kind: 'changeOwner', newOwner: state.account },
    }),
  );
  return node.call({
    method: 'POST',
    path: '/v1/recovery/enable',
    json: {
      identity,
      controller: account.address,
      guardians: [...settings.guardians],
      threshold: settings.threshold,
      delay: settings.delay.toString(),
      shareSetRoot: settings.shareSetRoot,
      shareEpoch: settings.shareEpoch,
      deadline: until.toString(),
      signature,
      didSignature,
    },
  });
}

/**
 * The key in control changes the recovery settings (`POST /v1/recovery/configure`, relayed `configureSigned`):
 * new guardians, threshold or delay, and the share set of a re-share (after a rotation or a recovery the old
 * shares hold an old phrase). Any recovery under way is cancelled (a new round starts).
 */
export async function configureRecovery(parameters: {
  node: NodeClient;
  account: LocalAccount;
  identity: Address;
  settings: RecoverySettings;
}): Promise<TxReceipt> {
  const { node, account, identity, settings } = parameters;
  const [state, description] = await Promise.all([getRecovery(node, identity), node.describe()]);
  const until = deadline();
  const nonce = BigInt(state.nonce);
  const signature = await account.signTypedData(
    toConfigureTypedData({
      chainId: description.chainId,
      recovery: state.recovery,
      identity,
      settings,
      nonce,
      deadline: until,
    }),
  );
  return node.call({
    method: 'POST',
    path: '/v1/recovery/configure',
    json: {
      identity,
      guardians: [...settings.guardians],
      threshold: settings.threshold,
      delay: settings.delay.toString(),
      shareSetRoot: settings.shareSetRoot,
      shareEpoch: settings.shareEpoch,
      nonce: nonce.toString(),
      deadline: until.toString(),
      signature,
    },
  });
}

/** The signed body of a guardian's approval (kept so a test or an auditor can show it cannot be replayed). */
export type RecoveryApproval = {
  identity: Address;
  guardian: Address;
  newController: Address;
  round: string;
  deadline: string;
  signature: Hex;
};

/** A guardian (its current key) signs its approval of `newController` for `identity` in the current round. */
export async function signRecoveryApproval(parameters: {
  node: NodeClient;
  account: LocalAccount;
  guardian: Address;
  identity: Address;
  newController: Address;
}): Promise<RecoveryApproval> {
  const { node, account, guardian, identity, newController } = parameters;
  const [state, description] = await Promise.all([getRecovery(node, identity), node.describe()]);
  const message = { identity, guardian, newController, round: BigInt(state.round), deadline: deadline() };
  const signature = await account.signTypedData(
    toApproveTypedData({ chainId: description.chainId, recovery: state.recovery, message }),
  );
  return { ...message, round: message.round.toString(), deadline: message.deadline.toString(), signature };
}

/** Sends a guardian's signed approval (`POST /v1/recovery/approvals`). */
export function sendRecoveryApproval(node: NodeClient, approval: RecoveryApproval): Promise<TxReceipt> {
  return node.call({ method: 'POST', path: '/v1/recovery/approvals', json: approval });
}

/** The key in control cancels the recovery under way (during the delay). */
export async function cancelRecovery(parameters: {
  node: NodeClient;
  account: LocalAccount;
  identity: Address;
}): Promise<TxReceipt> {
  const { node, account, identity } = parameters;
  const [state, description] = await Promise.all([getRecovery(node, identity), node.describe()]);
  const message = { identity, round: BigInt(state.round), deadline: deadline() };
  const signature = await account.signTypedData(
    toCancelTypedData({ chainId: description.chainId, recovery: state.recovery, message }),
  );
  return node.call({
    method: 'POST',
    path: '/v1/recovery/cancel',
    json: { identity, round: message.round.toString(), deadline: message.deadline.toString(), signature },
  });
}

/** Executes an approved recovery whose delay has passed (anyone may). */
export function executeRecovery(node: NodeClient, identity: Address): Promise<TxReceipt> {
  return node.call({ method: 'POST', path: '/v1/recovery/execute', json: { identity } });
}

/**
 * Signs and relays an ERC-1056 change of the identity's DID (`POST /v1/did/changes`): with the owner key, or,
 * when the owner is the identity's `RecoveryAccount`, an `Execute` by its controller (a `changeOwner` then
 * replaces the controller: recovery stays on).
 */
export async function changeDid(parameters: {
  node: NodeClient;
  account: LocalAccount;
  identity: Address;
  change: DidChange;
}): Promise<TxReceipt> {
  const { node, account, identity, change } = parameters;
  const [info, description] = await Promise.all([node.getDidNonce(identity), node.describe()]);
  const body = { identity, change: wireChange(change) };
  if (info.account === undefined) {
    const hash = didChangeHash({
      didRegistry: info.didRegistry,
      nonce: BigInt(info.nonce),
      identity,
      change,
    });
    return node.call({
      method: 'POST',
      path: '/v1/did/changes',
      json: { ...body, signature: await sign(account, hash) },
    });
  }
  const until = deadline();
  const { target, data } = accountCall(identity, change, info.account.address, info.didRegistry);
  const signature = await account.signTypedData(
    toAccountExecuteTypedData({
      chainId: description.chainId,
      account: info.account.address,
      message: { target, data, nonce: BigInt(info.account.nonce), deadline: until },
    }),
  );
  return node.call({
    method: 'POST',
    path: '/v1/did/changes',
    json: { ...body, signature, account: { nonce: info.account.nonce, deadline: until.toString() } },
  });
}

function wireChange(change: DidChange): Record<string, string> {
  switch (change.kind) {
    case 'changeOwner':
      return { kind: change.kind, newOwner: change.newOwner };
    case 'addDelegate':
      return { ...change, validity: change.validity.toString() };
    case 'revokeDelegate':
      return { ...change };
    case 'setAttribute':
      return { ...change, validity: change.validity.toString() };
  }
}
