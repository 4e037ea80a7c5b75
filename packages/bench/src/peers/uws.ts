// uWebSockets.js as its users would write a fan-out server: each client subscribes to its room's
// topic, POST /publish does `app.publish(room, message)` (uWS frames once and corks each socket
// for the whole publish). Same HTTP API shape as the other peers.
// Run alone: `PORT=8080 node dist/peers/uws.js`.
import { exitWithParent, portFromEnv, PublishApi, type Answer } from './publish-api.js';
import { loadUws } from './uws-binary.js';

const loaded = loadUws();
if ('reason' in loaded) {
  console.error(`uws: ${loaded.reason}`);
  process.exit(2);
}
const { uws } = loaded;

interface Client {
  room: string;
}

const app = uws.App();
const api = new PublishApi((channel, event, data) => {
  app.publish(channel, JSON.stringify({ type: 'pub', channel, event, data }), false, false);
});

function reply(res: import('@trufflesuite/uws-js-unofficial').HttpResponse, { status, body }: Answer): void {
  res.cork(() => {
    res.writeStatus(String(status)).writeHeader('content-type', 'application/json').end(JSON.stringify(body));
  });
}

app.ws<Client>('/*', {
  compression: uws.DISABLED,
  // Like `ws`, buffer whatever a slow reader has not taken yet instead of skipping it.
  maxBackpressure: 64 * 1024 * 1024,
  maxPayloadLength: 16 * 1024,
  idleTimeout: 0,
  upgrade(res, req, context) {
    const room = new URLSearchParams(req.getQuery() ?? '').get('room') ?? 'room-0';
    res.upgrade<Client>(
      { room },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open(ws) {
    ws.subscribe(ws.getUserData().room);
  },
});

app.get('/health', (res) => reply(res, { status: 200, body: { status: 'ok' } }));
app.any('/*', (res, req) => {
  const route = api.route(req.getMethod().toUpperCase(), req.getUrl());
  if (route === null || route === 'health') return reply(res, { status: 404, body: { error: 'not found' } });
  const chunks: Buffer[] = [];
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((chunk, last) => {
    // uWS reuses the chunk's memory after this callback: copy it.
    chunks.push(Buffer.from(chunk.slice(0)));
    if (last && !aborted) reply(res, api.answer(route, Buffer.concat(chunks)));
  });
});

let listenSocket: unknown;
app.listen('127.0.0.1', portFromEnv(), (socket) => {
  if (!socket) {
    console.error('uws: could not listen');
    process.exit(1);
  }
  listenSocket = socket;
  console.log(`uws listening on ${uws.us_socket_local_port(socket)}`);
});
exitWithParent(() => {
  if (listenSocket) uws.us_listen_socket_close(listenSocket as never);
});
