import type { Socket as NetSocket } from 'node:net';
import WebSocket from 'ws';
import { isChaosData, type ClientInfo } from '../ledger.js';
import { InversionWatch, TERMINAL_CODES, cutNow, cutReason, jittered, type ChaosClient, type ClientContext } from './common.js';

interface Position {
  epoch: string;
  offset: number;
}

/**
 * A native WebSocket client written against protocol.md alone, with no deduplication: after
 * every reconnect it subscribes each channel with `since` = the epoch and offset of the last
 * publication it got there (or of the last subscribe reply), and notes `recovered: false`.
 * Whatever the server sends twice, it keeps twice.
 */
export function startRawWsClient(info: ClientInfo, ctx: ClientContext): ChaosClient {
  const { ledger } = ctx;
  const positions = new Map<string, Position>();
  const watch = new InversionWatch();
  let ws: WebSocket | undefined;
  let up = false;
  let closing = false;
  let everReady = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const connect = () => {
    if (closing) return;
    const socket = new WebSocket(`${ctx.proxy.wsUrl}/ws?token=${encodeURIComponent(ctx.token)}`);
    ws = socket;
    const replies = new Map<number, (frame: any) => void>();
    let nextId = 1;
    const request = (frame: Record<string, unknown>, onReply: (reply: any) => void) => {
      const id = nextId++;
      replies.set(id, onReply);
      socket.send(JSON.stringify({ ...frame, id }));
    };
    const subscribe = (channel: string, done: () => void) => {
      const since = ctx.sabotage ? undefined : positions.get(channel);
      request({ type: 'subscribe', channel, ...(since ? { since } : {}) }, (reply) => {
        if (reply.error) {
          ledger.note(info.id, `subscribe ${channel} refused: ${reply.error.code} ${reply.error.message}`);
          // `unavailable` says to try again; anything else would be a harness bug.
          setTimeout(() => socket.readyState === WebSocket.OPEN && subscribe(channel, done), 300);
          return;
        }
        const { epoch, offset, recovery } = reply.result;
        if (recovery && !recovery.recovered) {
          ledger.report(info.id, { channel, reason: recovery.reason, ...(recovery.missing ? { missing: recovery.missing } : {}), liveFrom: { epoch, offset } });
        }
        // While a replay is due, the position stays where the client stopped; the replay moves it.
        const replaying = since && (recovery?.recovered || recovery?.reason === 'history_trimmed');
        if (!replaying) positions.set(channel, { epoch, offset });
        done();
      });
    };
    // Set when the client cuts itself: frames of the same TCP read that follow are dropped.
    let cut = false;
    socket.on('message', (raw) => {
      if (cut) return;
      const frame = JSON.parse(raw.toString());
      if (frame.type === 'pub') {
        if (frame.channel === '$tenant') return;
        ledger.deliver(info.id, { channel: frame.channel, id: frame.id, epoch: frame.epoch, offset: frame.offset, data: frame.data });
        positions.set(frame.channel, { epoch: frame.epoch, offset: frame.offset });
        const inverted = watch.observe(frame.channel, frame.id);
        const why = isChaosData(frame.data) ? cutReason(ctx, info.id, watch, frame.data.k, frame.channel, inverted) : undefined;
        if (why && cutNow(ctx, (socket as unknown as { _socket?: NetSocket })._socket)) {
          cut = true;
          ledger.fault(`${why} cuts (ws-raw)`);
          ledger.note(info.id, `cut right after ${frame.id} (offset ${frame.offset} of ${frame.channel}), ${why === 'inversion' ? 'which sorts below the id before it' : 'early in a simultaneous burst'}`);
        }
      } else if (frame.type === 'reply') {
        const handler = replies.get(frame.id);
        replies.delete(frame.id);
        handler?.(frame);
      } else if (frame.type === 'connected') {
        let left = info.channels.length;
        for (const channel of info.channels) {
          subscribe(channel, () => {
            left -= 1;
            if (left > 0) return;
            up = true;
            if (!everReady) {
              everReady = true;
              markReady();
            }
          });
        }
      } else if (frame.type === 'error') {
        ledger.note(info.id, `error frame ${frame.code}: ${frame.message}`);
      }
    });
    socket.on('error', () => {});
    socket.on('close', (code, reason) => {
      up = false;
      if (closing) return;
      ledger.interrupted(info.id, `closed ${code} ${reason.toString()}`);
      if (TERMINAL_CODES.has(code)) return;
      setTimeout(connect, jittered(ctx.random, 100, 400));
    });
  };
  connect();

  return {
    info,
    ready,
    connected: () => up,
    async close() {
      closing = true;
      ws?.close();
    },
  };
}
