import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { test as base, expect, inject } from 'vitest';
import { launchChromium } from './chromium.ts';

/** Screenshots and other artefacts of the browser tests (kept by CI). */
export const ARTEFACTS_DIR = fileURLToPath(new URL('../../../../test-results/web/', import.meta.url));

/** The two screens every page is checked on. */
export const VIEWPORTS = {
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, isMobile: false, hasTouch: false },
} as const;
export type Device = keyof typeof VIEWPORTS;

/** A Content-Security-Policy violation seen by the page (`securitypolicyviolation`). */
export type CspViolation = { directive: string; blockedURI: string; sample: string; disposition: string };

/** One person at their own browser: a fresh context (no shared storage, IndexedDB or cookies) and one page. */
export type PortalUser = {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Console errors, uncaught exceptions, failed requests and HTTP errors of this user's pages, as they happen. */
  errors: string[];
  /** CSP violations of this user's pages; any at all fails the test when it ends. */
  cspViolations: CspViolation[];
  /** Saves a full-page screenshot as `test-results/web/<test>--<user>--<step>.png` and returns its path. */
  screenshot(step: string): Promise<string>;
};

export type PortalFixtures = {
  /** The real node serving the built portal (one for the whole run, started by `globalSetup.ts`). */
  portal: { url: string };
  /** One Chromium per test file. */
  browser: Browser;
  /**
   * Opens the portal for a new user in a fresh context (desktop unless `device` says otherwise; the run's node
   * unless `url` names another, e.g. one a test started with its own settings).
   */
  newUser: (name: string, options?: { device?: Device; url?: string }) => Promise<PortalUser>;
  /** The patient, at a desktop, on the portal's home page. */
  patient: PortalUser;
  /** The clinician, in a second, separate context, on the portal's home page. */
  clinician: PortalUser;
};

/**
 * `test` for browser specs: the run's real node serving the portal, Debian's Chromium, and a fresh browser context per
 * user per test. A failing test leaves a screenshot of every open page in `test-results/web/`; a CSP violation
 * anywhere fails the test. See packages/web/e2e/README.md.
 *
 * @example
 * portalTest('the patient sees the home page', async ({ patient }) => {
 *   await patient.page.getByRole('heading', { name: 'Carekey' }).waitFor();
 *   await patient.screenshot('home');
 * });
 */
export const portalTest = base.extend<PortalFixtures>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads the fixture's dependencies from this pattern.
  portal: async ({}, use) => use({ url: inject('portalUrl') }),
  browser: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads the fixture's dependencies from this pattern.
    async ({}, use) => {
      const browser = await launchChromium();
      try {
        await use(browser);
      } finally {
        await browser.close();
      }
    },
    { scope: 'file' },
  ],
  newUser: async ({ portal, browser, task }, use) => {
    const users: PortalUser[] = [];
    await use(async (name, options = {}) => {
      const user = await openUser({
        browser,
        url: options.url ?? portal.url,
        name,
        device: options.device ?? 'desktop',
        test: task.name,
      });
      users.push(user);
      return user;
    });
    try {
      if (task.result?.state === 'fail') {
        for (const user of users) await user.screenshot('failed').catch(() => {});
      }
      for (const user of users) {
        expect(user.cspViolations, `CSP violations in ${user.name}'s pages`).toEqual([]);
      }
    } finally {
      for (const user of users) await user.context.close().catch(() => {});
    }
  },
  patient: async ({ newUser }, use) => use(await newUser('patient')),
  clinician: async ({ newUser }, use) => use(await newUser('clinician')),
});

async function openUser(parameters: {
  browser: Browser;
  url: string;
  name: string;
  device: Device;
  test: string;
}): Promise<PortalUser> {
  const { browser, url, name, device } = parameters;
  const context = await browser.newContext({
    ...VIEWPORTS[device],
    baseURL: url,
    locale: 'en-GB',
    timezoneId: 'Europe/Brussels',
  });
  context.setDefaultTimeout(15_000);
  const errors: string[] = [];
  const cspViolations: CspViolation[] = [];
  await context.exposeBinding('__carekeyCspViolation', (_source, violation: CspViolation) => {
    cspViolations.push(violation);
  });
  // Runs before any page script; the CSP does not apply to it (DevTools protocol).
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { __carekeyCspViolation: (v: unknown) => void })
        .__carekeyCspViolation;
      report({
        directive: event.effectiveDirective,
        blockedURI: event.blockedURI,
        sample: event.sample,
        disposition: event.disposition,
      });
    });
  });
  const page = await context.newPage();
  context.on('page', (opened) => watch(opened, errors));
  watch(page, errors);
  let shots = 0;
  const slug = (text: string) =>
    text
      .replace(/[^\w.-]+/gu, '-')
      .replace(/^-+|-+$/gu, '')
      .slice(0, 80);
  const user: PortalUser = {
    name,
    context,
    page,
    errors,
    cspViolations,
    async screenshot(step) {
      mkdirSync(ARTEFACTS_DIR, { recursive: true });
      shots++;
      const path = join(
        ARTEFACTS_DIR,
        `${slug(parameters.test)}--${slug(name)}--${String(shots).padStart(2, '0')}-${slug(step)}.png`,
      );
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
  await page.goto('/');
  return user;
}

function watch(page: Page, errors: string[]): void {
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const { url } = message.location();
    // Chromium asks for /favicon.ico by itself (not the portal's doing, and not reported as a page request).
    if (new URL(url || 'about:blank').pathname === '/favicon.ico') return;
    errors.push(`console: ${message.text()}${url ? ` (${url})` : ''}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400)
      errors.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
  });
  page.on('requestfailed', (request) =>
    errors.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`),
  );
}
