import { HeraldError } from './errors.js';
import type { OutboxItem } from './outbox.js';

/** What the app's API answered to a delivered item. */
export interface HttpResult {
  status: number;
  body: unknown;
}

export interface HttpDeliveryOptions {
  /** The app's API base, e.g. `https://homeplanner.example/api/v0.2`; an item's `channel` is the path under it. */
  baseUrl: string;
  /** Headers of every request, e.g. the app's own `Authorization`; a function is asked each time. */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /**
   * The API answered 409: it holds a newer version (`current`, the response body). Return the
   * merged body to send instead (sent at once), or `undefined` to let the server's version stand
   * (the item leaves the outbox, resolved with the 409).
   */
  onConflict?: (item: OutboxItem, current: unknown) => unknown | Promise<unknown>;
  /** Conflicts in a row on one attempt before it counts as a failure. Default 3. */
  maxConflicts?: number;
  fetch?: typeof fetch;
}

/**
 * Delivers outbox items to the app's own HTTP API instead of publishing them on Herald: the item's
 * `channel` is the path, its `event` the method, its `data` the JSON body, its key the
 * `Idempotency-Key` header. A 2xx delivers it; a 409 goes to `onConflict`; anything else (and a
 * network error) is a failure, retried on the outbox's schedule.
 *
 * @example
 * const client = createHeraldClient({ url, token, route, outbox: { deliver: httpDelivery({ baseUrl: 'https://app.example/api', onConflict: merge }) } });
 * client.outbox.enqueue('/tasks/task-17', 'PUT', { ...snapshot, revision: 41 });
 */
export function httpDelivery(options: HttpDeliveryOptions): (item: OutboxItem) => Promise<HttpResult> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const maxConflicts = options.maxConflicts ?? 3;
  const base = options.baseUrl.replace(/\/+$/, '');
  return async (item) => {
    let body = item.data;
    for (let conflicts = 0; ; conflicts++) {
      const headers = typeof options.headers === 'function' ? await options.headers() : (options.headers ?? {});
      let response: Response;
      try {
        response = await doFetch(base + item.channel, {
          method: item.event,
          headers: { 'content-type': 'application/json', 'idempotency-key': item.key, ...headers },
          body: JSON.stringify(body),
        });
      } catch (err) {
        throw new HeraldError('unavailable', `the app's API is unreachable: ${(err as Error).message}`);
      }
      const result: HttpResult = { status: response.status, body: await readBody(response) };
      if (response.ok) return result;
      if (response.status !== 409) throw new HeraldError('unavailable', `the app's API answered ${response.status}`);
      if (conflicts >= maxConflicts) throw new HeraldError('unavailable', `the app's API answered 409 ${conflicts + 1} times in a row`);
      const merged = options.onConflict ? await options.onConflict(item, result.body) : undefined;
      if (merged === undefined) return result;
      body = item.data = merged;
    }
  };
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
