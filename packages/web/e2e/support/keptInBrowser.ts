import type { Page } from 'playwright-core';

/**
 * Everything the portal keeps in this browser's IndexedDB (`carekey-portal`, store `kv`), as text (sealed bytes shown
 * as `<bytes>`): what a spec checks holds no secret in clear.
 */
export function keptInBrowser(page: Page): Promise<string> {
  return page.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const open = indexedDB.open('carekey-portal', 1);
        open.onsuccess = () => {
          const all = open.result.transaction('kv').objectStore('kv').getAll();
          all.onsuccess = () =>
            resolve(JSON.stringify(all.result, (_k, v) => (v instanceof Uint8Array ? '<bytes>' : v)));
          all.onerror = () => reject(all.error);
        };
        open.onerror = () => reject(open.error);
      }),
  );
}
