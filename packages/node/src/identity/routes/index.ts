/**
 * The identity routes (docs/identity.md): credentials, status lists, issuer governance, DID resolver config, the
 * category key escrow.
 */
import type { AnyRoute } from '../../api/defineRoute.ts';
import { getCategoryKey, putCategoryKey } from './categoryKeyEscrow.ts';
import { getCredential } from './getCredential.ts';
import { getCredentialChallenge } from './getCredentialChallenge.ts';
import { getIdentityResolver } from './getIdentityResolver.ts';
import { getIssuer } from './getIssuer.ts';
import { getStatusList } from './getStatusList.ts';
import { postCredentials } from './postCredentials.ts';
import { postIssuerApproval } from './postIssuerApproval.ts';
import { postStatusList } from './postStatusList.ts';

export const identityRoutes: readonly AnyRoute[] = [
  getIdentityResolver,
  getCredentialChallenge,
  postCredentials,
  getCredential,
  postStatusList,
  getStatusList,
  getIssuer,
  postIssuerApproval,
  getCategoryKey,
  putCategoryKey,
];
