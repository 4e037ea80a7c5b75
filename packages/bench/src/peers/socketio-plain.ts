// A plain socket.io 4.x server, as users would write it: rooms joined from the handshake query,
// POST /publish does `io.to(room).emit(event, data)`. With REDIS_URL set it uses
// @socket.io/redis-adapter, as users would to run several nodes.
// Run alone: `PORT=8081 [REDIS_URL=redis://127.0.0.1:6380] node dist/peers/socketio-plain.js`.
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { exitWithParent, portFromEnv, publishApi } from './publish-api.js';

const redisUrl = process.env.REDIS_URL;
const pubClient = redisUrl ? new Redis(redisUrl) : undefined;
const subClient = pubClient?.duplicate();

// socket.io takes over the server's request listener and hands it every request outside its path.
const server = createServer(publishApi((channel, event, data) => io.to(channel).emit(event, data)));
const io = new Server(server, { serveClient: false, ...(pubClient && subClient ? { adapter: createAdapter(pubClient, subClient) } : {}) });

io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  void socket.join(typeof room === 'string' ? room : 'room-0');
});

server.listen(portFromEnv(), '127.0.0.1', () => {
  const address = server.address();
  console.log(`socketio-plain listening on ${typeof address === 'object' && address ? address.port : address}`);
});
exitWithParent(() => {
  io.close();
  server.close();
  pubClient?.disconnect();
  subClient?.disconnect();
});
