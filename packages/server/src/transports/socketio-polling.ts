import type { IncomingMessage } from 'node:http';
import type { Socket as TcpSocket } from 'node:net';
import type { Server } from 'socket.io';

/** A polling request as engine.io has parsed it. */
interface EngineRequest extends IncomingMessage {
  _query?: { sid?: string; transport?: string };
}

function pollOf(req: EngineRequest): string | undefined {
  const query = req._query;
  return req.method === 'GET' && query?.transport === 'polling' ? query.sid : undefined;
}

/** Whether the client means to keep the connection for its next request (browsers do; Node's client asks to close). */
function keepsConnection(req: IncomingMessage): boolean {
  return req.httpVersion !== '1.0' && !/\bclose\b/i.test(req.headers.connection ?? '');
}

/**
 * engine.io counts a long-poll answered once its response is written. If the connection then
 * resets before the client read it (a network cut), the payload is gone, and browsers send the
 * poll again on a new connection as if nothing happened: neither side notices, and what the
 * response carried is lost without a trace. So when the connection of an answered poll closes
 * before the session's next poll arrives, the session is closed: the client's next poll is
 * refused, it reconnects, and connection state recovery replays what it missed from history.
 * Only for connections the client keeps alive between polls, as browsers do.
 * Written here because engine.io has no acknowledgements on long-polling.
 */
export function closeSessionsOnLostPolls(io: Server): void {
  const engine = io.engine as unknown as {
    clients: Record<string, { close(discard?: boolean): void } | undefined>;
    on(event: 'headers', listener: (headers: unknown, req: EngineRequest) => void): void;
    use(middleware: (req: EngineRequest, res: unknown, next: (err?: Error) => void) => void): void;
  };
  /** Each session's last answered poll, until its next poll arrives. */
  const answered = new Map<string, TcpSocket>();
  const sessionOf = new WeakMap<TcpSocket, string>();

  engine.use((req, _res, next) => {
    const sid = pollOf(req);
    if (sid !== undefined) answered.delete(sid);
    next();
  });
  engine.on('headers', (_headers, req) => {
    const sid = pollOf(req);
    // A connection the client itself closes after each request says nothing when it closes.
    if (sid === undefined || !keepsConnection(req)) return;
    const socket = req.socket;
    answered.set(sid, socket);
    if (sessionOf.has(socket)) return sessionOf.set(socket, sid);
    sessionOf.set(socket, sid);
    socket.once('close', () => {
      const last = sessionOf.get(socket);
      if (last === undefined || answered.get(last) !== socket) return;
      answered.delete(last);
      engine.clients[last]?.close(true);
    });
  });
  io.engine.on('connection', (conn: { id: string; once(event: 'close', listener: () => void): void }) => conn.once('close', () => answered.delete(conn.id)));
}
