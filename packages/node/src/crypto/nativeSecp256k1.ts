import { createRequire } from 'node:module';
import { type RecoverPublicKey, setRecoverPublicKey } from '@carekey/sdk/protocol';

/** The part of the `secp256k1` package (libsecp256k1 bindings) the node uses. */
type Secp256k1Bindings = {
  ecdsaRecover(signature: Uint8Array, recid: number, digest: Uint8Array, compressed: boolean): Uint8Array;
};

let loaded: { recover: RecoverPublicKey | undefined; error: string | undefined } | undefined;

/**
 * libsecp256k1's public-key recovery (the `secp256k1` package's prebuilt linux-x64/darwin-arm64/win32-x64 binding,
 * loaded by `node-gyp-build` without compiling anything), or `undefined` with why when it cannot be loaded on this
 * platform. Loaded once. Only the native binding is loaded (`secp256k1/bindings`), never the package's `elliptic`
 * fallback: without it, the caller keeps noble. Same answers as noble's recovery on every input (property test
 * `nativeSecp256k1.test.ts`): r and s must be in 1…n−1, the recovery bit 0 or 1, high-s accepted, the digest taken
 * as is (no hashing), ≈ 40× faster.
 */
export function loadNativeRecoverPublicKey(): {
  recover: RecoverPublicKey | undefined;
  error: string | undefined;
} {
  if (loaded !== undefined) return loaded;
  try {
    const bindings = createRequire(import.meta.url)('secp256k1/bindings') as Secp256k1Bindings;
    loaded = {
      recover: (compact, bit, digest) => bindings.ecdsaRecover(compact, bit, digest, false),
      error: undefined,
    };
  } catch (error) {
    loaded = { recover: undefined, error: error instanceof Error ? error.message : String(error) };
  }
  return loaded;
}

/**
 * Makes the node's signed-request checks (`checkKeyRequest`, `checkNodeRequest`: one recovery per request) use
 * libsecp256k1 when it loads, noble otherwise. Returns the name of the recovery in use.
 */
export function installNativeRecoverPublicKey(): 'libsecp256k1' | 'noble' {
  const { recover } = loadNativeRecoverPublicKey();
  if (recover === undefined) return 'noble';
  setRecoverPublicKey('libsecp256k1', recover);
  return 'libsecp256k1';
}
