import type { Hex } from 'viem';
import { parseDid } from './did.ts';
import { es256kSigner } from './es256k.ts';
import { CLINICIAN_VCT, type ClinicianClaim, sdJwtVc } from './sdJwt.ts';

export type IssueCredentialParameters = {
  /** The issuer's DID (`iss`); it must be in `TrustedIssuers` for verifiers to accept the credential. */
  issuerDid: string;
  /** A key that signs for the issuer DID (ES256K): its owner's, the key its ERC-1271 owner accepts, or a delegate's. */
  privateKey: Hex;
  /**
   * The verification method of the issuer DID that signs (`kid`): default `<issuerDid>#controller` (the owner, or
   * through an ERC-1271 owner); a veriKey delegate signs as `<issuerDid>#delegate-N` (`signingKidFor`).
   */
  kid?: string | undefined;
  /** Shown to patients beside the claims ("verified by …"), not selectively disclosable. */
  issuerName: string;
  /** The clinician's DID (`sub`); the presentation must be key-bound to its owner key (`cnf.kid`). */
  subjectDid: string;
  /** The claims, each selectively disclosable. */
  claims: Record<ClinicianClaim, string>;
  /** Token Status List entry (`status.status_list`): the list's URI and this credential's index. */
  status: { uri: string; idx: number };
  /** Seconds since epoch. */
  issuedAt?: number | undefined;
  expiresAt: number;
};

/**
 * Issues a clinician credential as an SD-JWT VC (`typ: dc+sd-jwt`, ES256K): `role`, `licence`, `specialty`,
 * `organisation` selectively disclosable; `cnf.kid` binds it to the clinician's DID; `status` points at the
 * issuer's Token Status List.
 *
 * @example
 * const credential = await issueCredential({ issuerDid, privateKey, issuerName: 'Medical Board', subjectDid,
 *   claims: { role: 'physician', licence: 'MB-1234', specialty: 'cardiology', organisation: 'Hospital X' },
 *   status: { uri, idx: 0 }, expiresAt: now + 365 * 86400 });
 */
export async function issueCredential(parameters: IssueCredentialParameters): Promise<string> {
  const issuer = parseDid(parameters.issuerDid).did;
  const subject = parseDid(parameters.subjectDid).did;
  const instance = sdJwtVc({ signer: es256kSigner(parameters.privateKey), signAlg: 'ES256K' });
  const { role, licence, specialty, organisation } = parameters.claims;
  return instance.issue(
    {
      iss: issuer,
      sub: subject,
      iat: parameters.issuedAt ?? Math.floor(Date.now() / 1000),
      exp: parameters.expiresAt,
      vct: CLINICIAN_VCT,
      cnf: { kid: `${subject}#controller` },
      status: { status_list: { uri: parameters.status.uri, idx: parameters.status.idx } },
      issuer_name: parameters.issuerName,
      role,
      licence,
      specialty,
      organisation,
    },
    { _sd: ['role', 'licence', 'specialty', 'organisation'] },
    { header: { kid: parameters.kid ?? `${issuer}#controller` } },
  );
}
