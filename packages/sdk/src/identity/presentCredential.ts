import type { Hex } from 'viem';
import { CredentialError } from './CredentialError.ts';
import { es256kSigner } from './es256k.ts';
import { CLINICIAN_CLAIMS, type ClinicianClaim, sdJwtVc } from './sdJwt.ts';

export type PresentCredentialParameters = {
  /** The SD-JWT VC as issued (all disclosures). */
  credential: string;
  /** The claims to reveal; the others stay hidden (their disclosures are left out). */
  disclose: readonly ClinicianClaim[];
  /** The holder DID owner's private key: signs the KB-JWT. */
  privateKey: Hex;
  /** Who the presentation is for (a verifier's DID, or a node's audience): a copy sent elsewhere is refused. */
  audience: string;
  /** The verifier's fresh challenge: a stale or reused one is refused. */
  nonce: string;
  /** Seconds since epoch (default now). */
  issuedAt?: number | undefined;
};

/**
 * Presents a credential: keeps only the disclosures of `disclose` and appends a key-binding JWT (ES256K by the
 * holder's DID owner key) over `aud`, `nonce`, `iat` and the `sd_hash` of what is presented.
 *
 * @throws {CredentialError} `malformed`: an unknown claim name.
 */
export async function presentCredential(parameters: PresentCredentialParameters): Promise<string> {
  for (const name of parameters.disclose) {
    if (!(CLINICIAN_CLAIMS as readonly string[]).includes(name)) {
      throw new CredentialError('malformed', `unknown claim '${String(name).slice(0, 40)}'`, {
        hint: `disclose any of ${CLINICIAN_CLAIMS.join(', ')}`,
      });
    }
  }
  const instance = sdJwtVc({ kbSigner: es256kSigner(parameters.privateKey), kbSignAlg: 'ES256K' });
  const frame = Object.fromEntries(parameters.disclose.map((name) => [name, true]));
  return instance.present(parameters.credential, frame, {
    kb: {
      payload: {
        iat: parameters.issuedAt ?? Math.floor(Date.now() / 1000),
        aud: parameters.audience,
        nonce: parameters.nonce,
      },
    },
  });
}
