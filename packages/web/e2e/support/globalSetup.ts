import type { TestProject } from 'vitest/node';
import { startPortalNode } from './startPortalNode.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the browser tests' node serves the portal and the API, e.g. `http://127.0.0.1:41234`. */
    portalUrl: string;
  }
}

/**
 * Before any browser test: builds the portal if it is stale, and starts one real node serving it for the whole
 * run (a node starts in seconds on an idle machine, but a minute on a busy one). Tests reach it with
 * `inject('portalUrl')`, or the `portal` fixture of `portalTest`; each user gets a fresh wallet anyway.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const portal = await startPortalNode();
  project.provide('portalUrl', portal.url);
  return () => portal.stop();
}
