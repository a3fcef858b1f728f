import { KeyReleaseRefusedError, VaultChainUnavailableError, VaultInputError } from '@carekey/sdk/errors';
import { ApiError } from '../ApiError.ts';

/** The one body every refused key release gets, whatever the reason (T-15); the reason is in the audit log. */
export const ACCESS_REFUSED = { status: 403, code: 'access-refused', detail: 'access refused' } as const;

/**
 * Runs a vault call for a route, turning vault errors into problems: input errors keep their status and code,
 * every refused release becomes the uniform 403 `access-refused`, an unreadable chain a 503 (fail closed).
 *
 * @throws {ApiError}
 */
export async function vaultCall<result>(call: () => Promise<result>): Promise<result> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof VaultInputError) {
      throw new ApiError({
        status: error.status,
        code: error.code,
        detail: error.shortMessage,
        cause: error,
      });
    }
    if (error instanceof KeyReleaseRefusedError) throw new ApiError({ ...ACCESS_REFUSED, cause: error });
    if (error instanceof VaultChainUnavailableError) {
      throw new ApiError({
        status: 503,
        code: 'chain-unavailable',
        detail: 'the node cannot read the chain right now; retry',
        cause: error,
      });
    }
    throw error;
  }
}
