import type { TestProject } from 'vitest/node';
import { type CredentialedClinician, credentialClinician, newGovernor } from './licensingBoard.ts';
import { startPortalNode } from './startPortalNode.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the browser tests' node serves the portal and the API, e.g. `http://127.0.0.1:41234`. */
    portalUrl: string;
    /** A clinician a licensing board trusted in TrustedIssuers credentialed (`support/licensingBoard.ts`). */
    clinician: CredentialedClinician;
  }
}

/**
 * Before any browser test: builds the portal if it is stale, and starts one real node serving it for the whole
 * run (a node starts in seconds on an idle machine, but a minute on a busy one). Tests reach it with
 * `inject('portalUrl')`, or the `portal` fixture of `portalTest`; each user gets a fresh wallet anyway. The node's
 * TrustedIssuers is governed by a key made here, which trusts a licensing board that credentials one clinician
 * (`inject('clinician')`: a recovery phrase and its credentials; docs/identity.md).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const governor = newGovernor();
  const portal = await startPortalNode({ governance: { governors: [governor.address], threshold: 1 } });
  try {
    project.provide('portalUrl', portal.url);
    project.provide(
      'clinician',
      await credentialClinician({
        url: portal.url,
        chainId: portal.node.chain.chainId,
        governorKey: governor.privateKey,
      }),
    );
  } catch (error) {
    await portal.stop();
    throw error;
  }
  return () => portal.stop();
}
