import { ApiError } from './ApiError.ts';

/**
 * Runs a chain read for a route; an RPC failure becomes a 503 `chain-unavailable` problem (fail closed, nothing
 * about the endpoint leaked) instead of a 500.
 *
 * @throws {ApiError} 503 `chain-unavailable`.
 * @example
 * const owner = await readChain(() => getIdentityOwner({ client, didRegistry, identity }));
 */
export async function readChain<result>(read: () => Promise<result>): Promise<result> {
  try {
    return await read();
  } catch (cause) {
    throw new ApiError({
      status: 503,
      code: 'chain-unavailable',
      detail: 'the node cannot read the chain right now; retry',
      cause,
    });
  }
}
