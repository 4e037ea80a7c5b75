import { call } from '../api.js';

/** The audit feed's record types (docs/audit.md). */
export const AUDIT_TYPES = ['connect', 'disconnect', 'denial', 'publish', 'eviction', 'lock', 'stream', 'webhook'] as const;

export interface AuditFilter {
  types: string[];
  tenant: string;
  user: string;
  channel: string;
}

export interface AuditRecord {
  type: string;
  node: string;
  at: number;
  tenant?: string;
  userId?: string;
  channel?: string;
  channels?: string[];
  [field: string]: unknown;
}

export type FeedState = { state: 'connecting' } | { state: 'live'; scope: string | null } | { state: 'error'; message: string };

/** How long to wait before opening the feed again after it closed on its own. */
const RETRY_MS = 2000;

/**
 * One reader of the audit feed (`/ws/audit`) with a filter, on the console's link token for
 * `tenant`: the feed scopes it as it scopes that tenant's admin. The feed's own protocol, not a
 * client channel, so a plain WebSocket rather than `@herald/client`; it reopens after a close
 * it did not ask for, and a new filter is a new reader (the feed replays its kept records).
 */
export function openAuditFeed(path: string, tenant: string, filter: AuditFilter, on: { record(r: AuditRecord): void; state(s: FeedState): void }): () => void {
  let socket: WebSocket | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  async function open() {
    on.state({ state: 'connecting' });
    try {
      const { token } = await call<{ token: string }>('POST', '/console/link', { body: { tenant } });
      if (stopped) return;
      const params = new URLSearchParams({ token });
      if (filter.types.length > 0) params.set('types', filter.types.join(','));
      for (const name of ['tenant', 'user', 'channel'] as const) if (filter[name]) params.set(name, filter[name]);
      const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}?${params}`);
      socket = ws;
      let refused = false;
      ws.onmessage = (event) => {
        const frame = JSON.parse(String(event.data));
        if (frame.type === 'subscribed') on.state({ state: 'live', scope: frame.scope });
        else if (frame.type === 'audit') on.record(frame.record as AuditRecord);
        else if (frame.type === 'error') {
          refused = true;
          on.state({ state: 'error', message: frame.message });
        }
      };
      ws.onclose = (event) => {
        if (stopped || socket !== ws) return;
        // A refused filter or role stays refused: no point asking again until the form changes.
        if (refused && event.code >= 4000 && event.code < 4004) return;
        on.state({ state: 'connecting' });
        retry = setTimeout(() => void open(), RETRY_MS);
      };
    } catch (err) {
      if (stopped) return;
      on.state({ state: 'error', message: (err as Error).message });
      retry = setTimeout(() => void open(), RETRY_MS);
    }
  }

  void open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    socket?.close(1000);
  };
}
