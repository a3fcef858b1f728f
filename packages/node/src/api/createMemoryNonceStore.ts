import type { NonceStore, UseNonceParameters } from './NonceStore.ts';

export type CreateMemoryNonceStoreParameters = {
  /** Clock in seconds (injectable for tests). Default: now. */
  now?: (() => number) | undefined;
};

export type CreateMemoryNonceStoreReturnType = NonceStore;

/**
 * A {@link NonceStore} in process memory: correct for one process, forgotten on restart (a request signed less
 * than five minutes before a restart could then be replayed once). Use the SQL store for a running node.
 *
 * @example
 * const nonces = createMemoryNonceStore();
 * await nonces.use({ signer, nonce, expiresAt }); // true, then false
 */
export function createMemoryNonceStore(
  parameters: CreateMemoryNonceStoreParameters = {},
): CreateMemoryNonceStoreReturnType {
  const now = parameters.now ?? (() => Date.now() / 1000);
  const used = new Map<string, bigint>();
  return {
    async use({ signer, nonce, expiresAt }: UseNonceParameters) {
      const clock = BigInt(Math.floor(now()));
      for (const [key, expiry] of used) if (expiry < clock) used.delete(key);
      const key = `${signer.toLowerCase()}:${nonce.toLowerCase()}`;
      if (used.has(key)) return false;
      used.set(key, expiresAt);
      return true;
    },
  };
}
