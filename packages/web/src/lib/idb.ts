/**
 * A tiny promise wrapper over one IndexedDB object store. The portal keeps here only what is safe at rest: the
 * wallet sealed under the passphrase (age scrypt), a record cache encrypted to the wallet's own X25519 key, and
 * public counters (nonces, time of the last visit). Nothing secret goes to localStorage, cookies or URLs.
 */
const DB_NAME = 'carekey-portal';
const STORE = 'kv';

let opening: Promise<IDBDatabase> | undefined;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB could not be opened'));
  }).catch((error: unknown) => {
    opening = undefined;
    throw error;
  });
  return opening;
}

async function run<result>(
  mode: IDBTransactionMode,
  act: (store: IDBObjectStore) => IDBRequest,
): Promise<result> {
  const db = await open();
  return new Promise<result>((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = act(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result as result);
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export function idbGet<value>(key: string): Promise<value | undefined> {
  return run<value | undefined>('readonly', (store) => store.get(key));
}

export async function idbSet(key: string, value: unknown): Promise<void> {
  await run('readwrite', (store) => store.put(value, key));
}

export async function idbDelete(key: string): Promise<void> {
  await run('readwrite', (store) => store.delete(key));
}

/** Closes the connection (tests delete the database between cases). */
export async function idbClose(): Promise<void> {
  if (opening === undefined) return;
  const db = await opening.catch(() => undefined);
  db?.close();
  opening = undefined;
}
