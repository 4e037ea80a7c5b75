/** Synchronous string storage; `localStorage` and `sessionStorage` fit as they are. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Storage that lives as long as the process or page: the default in Node.
 *
 * @example
 * const client = createHeraldClient({ url, token, WebSocket, storage: memoryStorage() });
 */
export function memoryStorage(): KeyValueStorage {
  const map = new Map<string, string>();
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

/**
 * `localStorage` where there is one that works, else memory. Reading `localStorage` throws in
 * sandboxed iframes and some private modes, so it is probed, not assumed.
 *
 * @example
 * const cursors = new CursorStore(defaultStorage(), 'my-app');
 */
export function defaultStorage(): KeyValueStorage {
  try {
    const storage = (globalThis as { localStorage?: KeyValueStorage }).localStorage;
    if (storage) {
      const probe = '__herald_probe__';
      storage.setItem(probe, '1');
      storage.removeItem(probe);
      return storage;
    }
  } catch {
    // unusable: fall through to memory
  }
  return memoryStorage();
}
