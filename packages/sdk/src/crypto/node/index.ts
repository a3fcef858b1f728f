/**
 * `@carekey/sdk/crypto/node`: the Node-only half of the age crypto. Importing
 * it installs `nodeCryptoBackend` (OpenSSL ChaCha20-Poly1305 and scrypt via
 * `node:crypto`) as the default backend of `@carekey/sdk/crypto`, and adds
 * file-to-file helpers that stream with constant memory.
 */
import { setDefaultCryptoBackend } from '../backend.ts';
import { nodeCryptoBackend } from './nodeBackend.ts';

setDefaultCryptoBackend(nodeCryptoBackend);

export { type DecryptFileParameters, decryptFile } from './decryptFile.ts';
export { type EncryptFileParameters, encryptFile } from './encryptFile.ts';
export { nodeChunkCipher, nodeCryptoBackend } from './nodeBackend.ts';
