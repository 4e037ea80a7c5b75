// The raw-WebSocket reference: what Node with `ws` can do when each publication is framed once.
// Clients connect to `/?room=NAME`; POST /publish sends the same frame bytes to every socket of
// the room. Run alone: `PORT=8080 node dist/peers/ws-reference.js`.
import { createServer } from 'node:http';
import * as wsModule from 'ws';
import WebSocket, { WebSocketServer } from 'ws';
import { exitWithParent, portFromEnv, publishApi } from './publish-api.js';

/** The parts of `ws` that engine.io also uses to send pre-framed data; they have no typings. */
interface Framing {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
}
interface FramedSocket {
  _sender: { sendFrame(list: Buffer[]): void };
}

const { Sender } = wsModule as unknown as Framing;
const FRAME_OPTIONS = { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false };
const rooms = new Map<string, Set<WebSocket>>();

function deliver(channel: string, event: string, data: unknown): void {
  const members = rooms.get(channel);
  if (!members || members.size === 0) return;
  const payload = Buffer.from(JSON.stringify({ type: 'pub', channel, event, data }));
  // One buffer holding header and payload: one write per socket, no cork/uncork.
  const frame = [Buffer.concat(Sender.frame(payload, FRAME_OPTIONS))];
  for (const ws of members) {
    if (ws.readyState === WebSocket.OPEN) (ws as unknown as FramedSocket)._sender.sendFrame(frame);
  }
}

const server = createServer(publishApi(deliver));
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });

wss.on('connection', (ws, req) => {
  const room = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? 'room-0';
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(ws);
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0 && rooms.get(room) === members) rooms.delete(room);
  });
  ws.on('error', () => ws.terminate());
});

server.listen(portFromEnv(), '127.0.0.1', () => {
  const address = server.address();
  console.log(`ws-reference listening on ${typeof address === 'object' && address ? address.port : address}`);
});
exitWithParent(() => server.close());
