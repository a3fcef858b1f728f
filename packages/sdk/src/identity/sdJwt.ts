import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { base64urlnopad } from '@scure/base';
import { type SDJWTVCConfig, SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';

/** The credential type Carekey issuers sign (SD-JWT VC `vct`). */
export const CLINICIAN_VCT = 'urn:carekey:vct:clinician:1';

/** The claims a clinician credential carries, each selectively disclosable. */
export const CLINICIAN_CLAIMS = ['role', 'licence', 'specialty', 'organisation'] as const;
export type ClinicianClaim = (typeof CLINICIAN_CLAIMS)[number];

const encoder = new TextEncoder();

/** SHA-256 for `_sd` digests and `sd_hash` (the only `_sd_alg` Carekey accepts). */
export function hasher(data: string | ArrayBuffer, alg: string): Uint8Array {
  if (alg.toLowerCase() !== 'sha-256') throw new Error(`unsupported _sd_alg '${alg}'`);
  return sha256(typeof data === 'string' ? encoder.encode(data) : new Uint8Array(data));
}

/** An SD-JWT VC instance with Carekey's hasher and salts, plus `config`. */
export function sdJwtVc(config: SDJWTVCConfig = {}): SDJwtVcInstance {
  return new SDJwtVcInstance({
    hasher,
    hashAlg: 'sha-256',
    saltGenerator: () => base64urlnopad.encode(randomBytes(16)),
    ...config,
  });
}
