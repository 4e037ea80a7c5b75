import type { Namespace } from 'socket.io';
import { Adapter, type Session } from 'socket.io-adapter';
import type { SessionStore } from '../engine.js';

/** What Herald keeps of a Socket.IO session so that any node can resume it. */
export interface ResumableSession {
  sid: string;
  tenant: string;
  userId: string;
  channels: string[];
}

/** Data a restored socket carries: the kept session and the last publication id the client received. */
export interface RestoredData {
  heraldRestore: ResumableSession & { afterId: string };
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * An adapter that does no broadcasting of its own (the hub delivers) and answers socket.io's
 * connection state recovery from the engine's session store, so a client may come back on any
 * node. The missed publications are replayed by the transport from the hub's history, not kept
 * as packets here.
 */
export function resumableAdapter(store: SessionStore, windowMs: number): typeof Adapter {
  return class ResumableAdapter extends Adapter {
    constructor(nsp: Namespace) {
      super(nsp as never);
    }

    override persistSession(session: Parameters<Adapter['persistSession']>[0]): void {
      // Refresh the kept record's expiry to the recovery window from now.
      void store.load(key(this.nsp.name, session.pid)).then((record) => {
        if (record) return store.save(key(this.nsp.name, session.pid), record, windowMs);
      }).catch(() => {});
    }

    override async restoreSession(pid: string, offset: string): Promise<Session> {
      if (!ULID.test(offset)) return null as unknown as Session;
      const record = await store.load(key(this.nsp.name, pid));
      if (!record) return null as unknown as Session;
      const kept = JSON.parse(record) as ResumableSession;
      const data: RestoredData = { heraldRestore: { ...kept, afterId: offset } };
      return { sid: kept.sid, pid, rooms: [], data, missedPackets: [] };
    }
  };
}

export function key(nsp: string, pid: string): string {
  return `sio:${nsp}:${pid}`;
}
