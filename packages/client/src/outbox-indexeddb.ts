import type { OutboxItem, OutboxStore } from './outbox.js';

export interface IndexedDbOutboxOptions {
  /** Database name. Default `herald`. Use one per app (or per user) sharing an origin. */
  database?: string;
  /** Key of the queue inside the database. Default `outbox`. */
  key?: string;
  /** The IndexedDB factory; default the global `indexedDB`. */
  indexedDB?: IDBFactory;
}

const STORE = 'outbox';

function requestDone<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function transactionDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/**
 * Keeps the outbox in IndexedDB, so publications queued offline survive a page reload. The
 * queue is one record, written whole, which keeps its order.
 *
 * @example
 * const client = createHeraldClient({ url, token, outbox: { store: indexedDbOutboxStore({ database: 'planner' }) } });
 */
export function indexedDbOutboxStore(options: IndexedDbOutboxOptions = {}): OutboxStore {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  const key = options.key ?? 'outbox';
  let db: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> => {
    if (!factory) return Promise.reject(new Error('IndexedDB is not available here'));
    db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open(options.database ?? 'herald', 1);
      request.onupgradeneeded = () => {
        if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return db;
  };
  return {
    async load() {
      const tx = (await open()).transaction(STORE, 'readonly');
      const items = await requestDone(tx.objectStore(STORE).get(key));
      return Array.isArray(items) ? (items as OutboxItem[]) : [];
    },
    async save(items) {
      const tx = (await open()).transaction(STORE, 'readwrite');
      tx.objectStore(STORE).put([...items], key);
      await transactionDone(tx);
    },
  };
}
