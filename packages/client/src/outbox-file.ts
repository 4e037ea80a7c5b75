import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OutboxItem, OutboxStore } from './outbox.js';

/**
 * Keeps the outbox in a JSON file (Node only), so queued publications survive a restart.
 * Written to a temporary file and renamed, so a crash mid-write leaves the previous queue.
 *
 * @example
 * import { createHeraldClient, fileOutboxStore } from '@herald/client/node';
 * const client = createHeraldClient({ url, token, WebSocket, outbox: { store: fileOutboxStore('.herald/outbox.json') } });
 */
export function fileOutboxStore(path: string): OutboxStore {
  let sequence = 0;
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return [];
        throw err;
      }
      const items: unknown = JSON.parse(text);
      return Array.isArray(items) ? (items as OutboxItem[]) : [];
    },
    async save(items) {
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.${sequence++}.tmp`;
      await writeFile(temporary, JSON.stringify(items), 'utf8');
      await rename(temporary, path);
    },
  };
}
