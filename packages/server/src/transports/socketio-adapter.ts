import type { StreamPosition } from '@herald/protocol';
import type { Namespace } from 'socket.io';
import { Adapter, type Session } from 'socket.io-adapter';
import type { ResumeRecordStore } from '../engine.js';
import { decodeCursor } from './stream-cursor.js';

/** A room of a resumable socket and the position its subscription started at. */
export interface RoomRecord extends StreamPosition {
  channel: string;
}

/** What Herald keeps of a Socket.IO socket so that any node can resume it. */
export interface ResumableSocket {
  sid: string;
  /** The Herald connection id of the socket: a resume replaces that connection. */
  connectionId: string;
  tenant: string;
  userId: string;
  rooms: RoomRecord[];
}

/** Data a restored socket carries: its record and the positions the client's cursor says it reached. */
export interface RestoredData {
  heraldRestore: ResumableSocket & { cursor: StreamPosition[] };
}

/** A record read back from the store; anything else (an older format, a damaged value) is not resumable. */
function parseRecord(text: string): ResumableSocket | undefined {
  try {
    const r = JSON.parse(text) as Partial<ResumableSocket>;
    const valid =
      typeof r.sid === 'string' &&
      typeof r.connectionId === 'string' &&
      typeof r.tenant === 'string' &&
      typeof r.userId === 'string' &&
      Array.isArray(r.rooms) &&
      r.rooms.every((room) => typeof room?.channel === 'string' && typeof room.epoch === 'string' && Number.isInteger(room.offset));
    return valid ? (r as ResumableSocket) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An adapter that does no broadcasting of its own (the hub delivers) and answers socket.io's
 * connection state recovery from the engine's session store, so a client may come back on any
 * node. The missed publications are replayed by the transport from each room's history, after
 * the positions in the client's cursor, not kept as packets here.
 */
export function resumableAdapter(store: ResumeRecordStore, windowMs: number): typeof Adapter {
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
      const cursor = decodeCursor(offset);
      if (!cursor) return null as unknown as Session;
      const text = await store.load(key(this.nsp.name, pid));
      const kept = text === undefined ? undefined : parseRecord(text);
      if (!kept) return null as unknown as Session;
      // The restored socket takes its old id. If this node still holds the old socket (the client
      // came back before the server noticed it was gone), it goes first: one id, one socket.
      (this.nsp as unknown as Namespace).sockets.get(kept.sid)?.disconnect(true);
      const data: RestoredData = { heraldRestore: { ...kept, cursor: cursor.positions } };
      return { sid: kept.sid, pid, rooms: [], data, missedPackets: [] };
    }
  };
}

export function key(nsp: string, pid: string): string {
  return `sio:${nsp}:${pid}`;
}
