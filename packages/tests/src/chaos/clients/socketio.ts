import type { Socket as NetSocket } from 'node:net';
import { io } from 'socket.io-client';
import { isChaosData, type ClientInfo } from '../ledger.js';
import { InversionWatch, TERMINAL_CODES, cutNow, cutReason, type ChaosClient, type ClientContext } from './common.js';

/** socket.io-client's private recovery state. */
interface Recoverable {
  _pid?: string;
  _lastOffset?: string;
}

/**
 * A stock socket.io-client socket with the app behaviour the docs describe: join the rooms on
 * `connected` unless `socket.recovered`; note `herald:not_recovered`, and a session that was not
 * restored (every room's loss reported, live again from each `join-room` answer). It reconnects
 * by itself after transport losses; after an `io server disconnect` it reconnects as an app
 * would unless the server's error code says retrying cannot help.
 */
export function startSocketIoClient(info: ClientInfo, ctx: ClientContext): ChaosClient {
  const { ledger } = ctx;
  const socket = io(ctx.proxy.url, {
    auth: { token: ctx.token },
    transports: ['websocket'],
    reconnectionDelay: 100,
    reconnectionDelayMax: 1000,
  });
  const state = socket as unknown as Recoverable;
  const watch = new InversionWatch();
  let joinedOnce = false;
  let joining = false;
  let closing = false;
  let lastError: { code?: unknown; message?: unknown } | undefined;
  /** The offset (cursor) of the event the client was cut right after, to tell whether the cut kept it as the client's offset. */
  let cutAfter: string | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  type RawWs = { _socket?: NetSocket; emit(event: string | symbol, ...args: unknown[]): boolean };
  const rawWs = (): RawWs | undefined => (socket.io.engine as unknown as { transport?: { ws?: RawWs } } | undefined)?.transport?.ws;

  // socket.io-client decodes every packet of a read at once and hands each event on in a later
  // microtask: after a cut, those already decoded must not be handled either (they never arrived).
  let dropping = false;
  const internals = socket as unknown as { onevent(packet: unknown): void };
  const onevent = internals.onevent.bind(socket);
  internals.onevent = (packet) => {
    if (!dropping) onevent(packet);
  };
  socket.on('connect', () => (dropping = false));

  /**
   * Cuts the connection under the socket now: nothing after this event is handled, the stock
   * client sees a transport close and reconnects by itself with the last id it handled.
   */
  const cut = (): boolean => {
    const ws = rawWs();
    if (!ws || !cutNow(ctx, ws._socket)) return false;
    dropping = true;
    const emit = ws.emit.bind(ws);
    ws.emit = (event, ...args) => (event === 'message' ? false : emit(event, ...args));
    return true;
  };

  socket.onAny((event: string, ...args: unknown[]) => {
    if (event !== 'chaos') return;
    // `data, id, cursor`: the cursor is the offset socket.io-client keeps.
    const [data, id, cursor] = args as [unknown, string, string | undefined];
    ledger.deliver(info.id, { id, data });
    if (!isChaosData(data) || typeof id !== 'string') return;
    let inverted = false;
    for (const room of data.ch) if (info.channels.includes(room) && watch.observe(room, id)) inverted = true;
    const why = cutReason(ctx, info.id, watch, data.k, undefined, inverted);
    if (why && cut()) {
      if (why === 'inversion') cutAfter = cursor;
      ledger.fault(`${why} cuts (socketio)`);
      ledger.note(info.id, `cut right after ${id} (${data.k}, ${data.ch.join(',')} seq ${JSON.stringify(data.seq)}), ${why === 'inversion' ? 'which sorts below the id before it' : 'early in a simultaneous burst'}`);
    }
  });

  const join = async (room: string) => {
    for (let attempt = 1; attempt <= 20 && !closing && socket.connected; attempt++) {
      try {
        const answer = await socket.timeout(5000).emitWithAck('join-room', { room });
        if (answer?.ok) return answer as { epoch: string; offset: number };
        ledger.note(info.id, `join-room ${room} refused: ${JSON.stringify(answer?.error)}`);
        if (answer?.error?.code === 'already_subscribed') return undefined;
      } catch (err) {
        ledger.note(info.id, `join-room ${room}: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    return undefined;
  };

  socket.on('connected', () => {
    if (socket.recovered) {
      ledger.note(info.id, `recovered, offset ${state._lastOffset}`);
      return;
    }
    if (joining) return;
    joining = true;
    const fresh = !joinedOnce;
    if (!fresh) ledger.note(info.id, 'session not restored: joining the rooms again');
    void (async () => {
      for (const room of info.channels) {
        const answer = await join(room);
        // A fresh connection after a lost session: what was missed on the room is reported lost.
        if (!fresh) ledger.report(info.id, { channel: room, reason: 'session_not_restored', ...(answer ? { liveFrom: { epoch: answer.epoch, offset: answer.offset } } : {}) });
      }
      joining = false;
      joinedOnce = true;
      markReady();
    })();
  });
  socket.on('herald:not_recovered', (body: { channel?: string; reason: string; missing?: { from: number; to: number } }) => {
    ledger.report(info.id, { channel: body.channel ?? '*', reason: body.reason, ...(body.missing ? { missing: body.missing } : {}) });
  });
  socket.on('error', (body: { code?: unknown; message?: unknown }) => {
    lastError = body;
    ledger.note(info.id, `error ${JSON.stringify(body)}`);
  });
  socket.on('connect_error', (err: Error) => ledger.note(info.id, `connect_error: ${err.message}`));
  socket.on('disconnect', (reason: string) => {
    if (closing) return;
    const kept = cutAfter !== undefined && state._lastOffset === cutAfter;
    if (cutAfter !== undefined && kept) ledger.fault('inversion cuts at the lower id (socketio)');
    cutAfter = undefined;
    ledger.interrupted(info.id, `disconnect: ${reason} (offset ${state._lastOffset})`);
    if (reason === 'io server disconnect') {
      const code = Number(lastError?.code);
      if (TERMINAL_CODES.has(code)) return;
      setTimeout(() => !closing && socket.connect(), 300);
    }
  });

  return {
    info,
    ready,
    connected: () => socket.connected && !joining,
    async close() {
      closing = true;
      socket.close();
    },
  };
}
