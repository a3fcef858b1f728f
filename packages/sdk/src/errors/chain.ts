import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/** Something went wrong with the ledger: the embedded chain, a deployment or a contract call. */
export class ChainError extends BaseError {
  override name = 'ChainError';
}

/** The `anvil` binary of the embedded chain could not be found or run. */
export class AnvilNotFoundError extends ChainError {
  override name = 'AnvilNotFoundError';
  constructor(path: string, parameters: BaseErrorParameters = {}) {
    super(`anvil binary not found or not executable at '${path}'`, {
      hint: 'run `npm install` (it installs @foundry-rs/anvil), set CAREKEY_ANVIL_BIN to an anvil binary, or use --rpc-url for an external chain',
      ...parameters,
      details: { path, ...parameters.details },
    });
  }
}

/** The TCP port chosen for the embedded chain is already taken by another process. */
export class ChainPortInUseError extends ChainError {
  override name = 'ChainPortInUseError';
  constructor(host: string, port: number, parameters: BaseErrorParameters = {}) {
    super(`port ${port} on ${host} is already in use, the embedded chain cannot listen on it`, {
      hint: 'stop the other process, or choose another port with --chain-port / CAREKEY_CHAIN_PORT',
      ...parameters,
      details: { host, port, ...parameters.details },
    });
  }
}

/** The embedded chain process died or did not answer in time; `details.logTail` holds its last log lines. */
export class ChainStartError extends ChainError {
  override name = 'ChainStartError';
  constructor(reason: string, logTail: string, parameters: BaseErrorParameters = {}) {
    super(
      `the embedded chain failed to start: ${reason}${logTail ? `\n--- anvil log tail ---\n${logTail}` : ''}`,
      {
        ...parameters,
        details: { reason, logTail, ...parameters.details },
      },
    );
  }
}

/** The node's data folder (`CAREKEY_DATA`) cannot be created or written. */
export class DataDirError extends ChainError {
  override name = 'DataDirError';
  constructor(path: string, reason: string, parameters: BaseErrorParameters = {}) {
    super(`data folder '${path}' is not writable: ${reason}`, {
      hint: 'set CAREKEY_DATA (or --data) to a folder this user can create and write',
      ...parameters,
      details: { path, reason, ...parameters.details },
    });
  }
}

/** A chain setting is missing or malformed (RPC URL, relayer key, port, deployment file). */
export class ChainConfigError extends ChainError {
  override name = 'ChainConfigError';
}

/** A contract call reverted; `errorName` and `args` are the decoded custom error (or `Error(string)` reason). */
export class ContractRevertError extends ChainError {
  override name = 'ContractRevertError';
  /** The custom error's name, e.g. `ConsentRegistryGrantExpired`; `undefined` when it could not be decoded. */
  readonly errorName: string | undefined;
  /** The custom error's arguments, in declaration order. */
  readonly args: readonly unknown[];
  /** `Contract.function` that reverted. */
  readonly call: string;

  constructor(
    call: string,
    errorName: string | undefined,
    args: readonly unknown[],
    parameters: BaseErrorParameters = {},
  ) {
    const shown = errorName ? `${errorName}(${args.map(formatArg).join(', ')})` : 'an undecodable revert';
    super(`${call} reverted with ${shown}`, {
      ...parameters,
      details: { call, errorName, args: args.map(formatArg), ...parameters.details },
    });
    this.call = call;
    this.errorName = errorName;
    this.args = args;
  }
}

/** A transaction was mined but an expected event was missing from its receipt. */
export class MissingEventError extends ChainError {
  override name = 'MissingEventError';
  constructor(eventName: string, txHash: string, parameters: BaseErrorParameters = {}) {
    super(`transaction ${txHash} emitted no ${eventName} event`, {
      hint: 'check that the contract address points at the expected Carekey contract',
      ...parameters,
      details: { eventName, txHash, ...parameters.details },
    });
  }
}

function formatArg(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value;
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
