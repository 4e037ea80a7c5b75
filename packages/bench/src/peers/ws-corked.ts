// The ws reference with writes coalesced per event-loop turn: a socket is corked on its first
// write of a turn and every corked socket is uncorked in one setImmediate, so the publications
// of one turn leave in one writev per socket. What Node itself can do about the per-write cost.
// Run alone: `PORT=8080 node dist/peers/ws-corked.js`.
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { sendFrame, serveRooms } from './ws-rooms.js';

/** `ws` keeps the net.Socket here; it has no typings. */
interface RawSocket {
  _socket: Socket;
}

const corked = new Set<Socket>();

function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

serveRooms('ws-corked', (ws: WebSocket, frame: Buffer[]) => {
  const socket = (ws as unknown as RawSocket)._socket;
  if (!corked.has(socket)) {
    if (corked.size === 0) setImmediate(uncorkAll);
    socket.cork();
    corked.add(socket);
  }
  sendFrame(ws, frame);
});
