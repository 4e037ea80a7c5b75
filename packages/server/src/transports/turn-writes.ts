import type { Writable } from 'node:stream';

/**
 * One write per socket per event-loop turn. A socket is corked at its first write of a turn and
 * uncorked with every other socket corked in that turn, in one `setImmediate` after the turn's I/O
 * callbacks: whatever the turn wrote to it (publications, replies, pongs, a close frame) leaves
 * in order in one `writev`. At low rates that is the same turn; under load the batches grow and
 * the kernel's cost per delivery falls (a loopback write costs ~10 µs of CPU on small machines).
 * Node has no such scheduling for a set of sockets (uWS does it in C++), so it is written here.
 * Corked bytes stay in the stream's buffer, so `writableLength` and `ws.bufferedAmount` still
 * count them for the slow-reader bound.
 */
let corked = new Set<Writable>();
let scheduled = false;

export function corkForTurn(stream: Writable | null | undefined): void {
  if (!stream || corked.has(stream) || stream.destroyed) return;
  stream.cork();
  corked.add(stream);
  if (!scheduled) {
    scheduled = true;
    setImmediate(uncorkAll);
  }
}

function uncorkAll(): void {
  scheduled = false;
  const streams = corked;
  // A write made while uncorking (a callback that sends again) belongs to the next turn.
  corked = new Set();
  for (const stream of streams) {
    // Another owner's cork (ws's two-frame send) is balanced by its own uncork; this undoes ours.
    if (stream.writableCorked > 0) stream.uncork();
  }
}

/** The TCP socket under a `ws` WebSocket (`_socket` is internal to ws and untyped). */
export function socketOfWebSocket(ws: unknown): Writable | undefined {
  return (ws as { _socket?: Writable } | undefined)?._socket;
}
