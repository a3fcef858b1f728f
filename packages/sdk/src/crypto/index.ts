/**
 * `@carekey/sdk/crypto`: an age v1 (https://age-encryption.org/v1) reader and
 * writer for every runtime. In Node, also import `@carekey/sdk/crypto/node`
 * once: it installs the native backend (OpenSSL) and adds file helpers.
 * See docs/crypto.md.
 */
export {
  CryptoError,
  HeaderMacMismatchError,
  InvalidArmorError,
  InvalidCiphertextError,
  InvalidHeaderError,
  InvalidIdentityError,
  InvalidRecipientError,
  NoIdentityMatchError,
  UnsupportedRecipientError,
} from '../errors/crypto.ts';
export { ArmorDecoder, ArmorEncoder, armor, dearmor } from './armor.ts';
export { type AssembleHeaderParameters, assembleHeader } from './assembleHeader.ts';
export {
  type CryptoBackend,
  getDefaultCryptoBackend,
  nobleCryptoBackend,
  setDefaultCryptoBackend,
} from './backend.ts';
export { type ChunkCipher, type ChunkCipherFactory, nobleChunkCipher } from './chunkCipher.ts';
export { Decryptor, type DecryptParameters, decrypt, decryptStream } from './decrypt.ts';
export { Encryptor, type EncryptParameters, encrypt, encryptStream } from './encrypt.ts';
export { AGE_VERSION_LINE, computeHeaderMac, type Header, parseHeader } from './header.ts';
export { MlKem768X25519Identity, MlKem768X25519Recipient } from './mlkem768x25519.ts';
export { parseIdentity, parseIdentityFile } from './parseIdentity.ts';
export { parseRecipient } from './parseRecipient.ts';
export {
  CHUNK_SIZE,
  type DecryptPayloadParameters,
  decryptPayload,
  type EncryptPayloadParameters,
  type EncryptPayloadReturnType,
  encryptPayload,
  generateFileKey,
  PAYLOAD_NONCE_SIZE,
  PayloadDecryptor,
  PayloadEncryptor,
  SEALED_CHUNK_SIZE,
  type Sink,
} from './payload.ts';
export { FILE_KEY_LENGTH, type Identity, type Recipient } from './recipient.ts';
export {
  ScryptIdentity,
  type ScryptIdentityParameters,
  ScryptRecipient,
  type ScryptRecipientParameters,
} from './scrypt.ts';
export { decodeStanza, encodeStanza, type Stanza } from './stanza.ts';
export { type UnwrapFileKeyParameters, unwrapFileKey } from './unwrapFileKey.ts';
export { type WrapFileKeyParameters, wrapFileKey } from './wrapFileKey.ts';
export { X25519Identity, X25519Recipient } from './x25519.ts';
