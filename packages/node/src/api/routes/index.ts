/**
 * The node's route table. To add a route: write `routes/<operationId>.ts` with `defineRoute` (schemas, auth
 * policy, handler) and add it to this list. `GET /openapi.json` is added by the server.
 */
import { emergencyRoutes } from '../../emergency/routes/index.ts';
import { identityRoutes } from '../../identity/routes/index.ts';
import { postDidChange } from '../../recovery/routes/postDidChange.ts';
import { recoveryRoutes } from '../../recovery/routes/recoveryRoutes.ts';
import type { AnyRoute } from '../defineRoute.ts';
import { getAudit } from './getAudit.ts';
import { getBlob } from './getBlob.ts';
import { getDid } from './getDid.ts';
import { getDidNonce } from './getDidNonce.ts';
import { getGrants } from './getGrants.ts';
import { getNode } from './getNode.ts';
import { getNonces } from './getNonces.ts';
import { getRecords } from './getRecords.ts';
import { getRequests } from './getRequests.ts';
import { getShared } from './getShared.ts';
import { postBlobBatch } from './postBlobBatch.ts';
import { postDidAttributes } from './postDidAttributes.ts';
import { postGrantRevoke } from './postGrantRevoke.ts';
import { postGrants } from './postGrants.ts';
import { postKeysRelease } from './postKeysRelease.ts';
import { postRecordShred } from './postRecordShred.ts';
import { postRecords } from './postRecords.ts';
import { postRecordTags } from './postRecordTags.ts';
import { postRequestDeny } from './postRequestDeny.ts';
import { postRequests } from './postRequests.ts';
import { putBlob } from './putBlob.ts';
import { putOwnStanzas } from './putOwnStanzas.ts';

/** Every route of the node API except `GET /openapi.json`. */
export const routes: readonly AnyRoute[] = [
  getNode,
  getDid,
  getDidNonce,
  getNonces,
  postDidAttributes,
  putBlob,
  getBlob,
  postBlobBatch,
  // The vault (docs/vault.md).
  postRecords,
  getRecords,
  postRecordTags,
  postRecordShred,
  postGrants,
  getGrants,
  postGrantRevoke,
  postKeysRelease,
  getAudit,
  getShared,
  // Access requests (docs/protocol.md flow 7).
  postRequests,
  getRequests,
  postRequestDeny,
  // Identity: provider credentials, status lists, TrustedIssuers governance (docs/identity.md).
  ...identityRoutes,
  // DID changes and stolen-phone recovery (docs/identity.md, docs/recovery.md).
  postDidChange,
  putOwnStanzas,
  ...recoveryRoutes,
  // Emergency access (break-glass) and notifications (docs/emergency.md).
  ...emergencyRoutes,
];
