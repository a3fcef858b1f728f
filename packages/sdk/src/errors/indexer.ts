import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/** The chain indexer could not read the chain or apply what it read (the polling loop logs it and retries). */
export class IndexerError extends BaseError {
  override name = 'IndexerError';
}

/** The RPC endpoint did not answer, or answered something unusable (outage, restart: retried, F-4). */
export class IndexerRpcError extends IndexerError {
  override name = 'IndexerRpcError';
  constructor(call: string, parameters: BaseErrorParameters = {}) {
    super(`the chain did not answer ${call}`, {
      hint: 'the indexer retries; check the RPC endpoint',
      ...parameters,
    });
  }
}

/**
 * The chain the indexer reads is not the one its deployment record describes (another genesis block, a deployment
 * block that was rewritten): the contracts it should index may not exist there. Restart the node so the launcher
 * redeploys (`startChain` then reports `reset: true`) and the indexer replays.
 */
export class IndexerChainMismatchError extends IndexerError {
  override name = 'IndexerChainMismatchError';
  constructor(reason: string, parameters: BaseErrorParameters = {}) {
    super(`the chain does not match the deployment being indexed: ${reason}`, {
      hint: 'restart the node so the contracts are redeployed and the index replayed',
      ...parameters,
      details: { reason, ...parameters.details },
    });
  }
}

/** The chain changed while a range was read (a reorg in flight); nothing was applied, the next sync retries. */
export class IndexerReorgRaceError extends IndexerError {
  override name = 'IndexerReorgRaceError';
}
