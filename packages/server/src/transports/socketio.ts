import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, ErrorCode, type ErrorBody } from '@herald/protocol';
import { Server, type Namespace, type Socket } from 'socket.io';
import type { Identity } from '../auth/identity.js';
import { ERRORS, HeraldError, toHeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import type { OutboundPublication } from '../core/outbound.js';
import { TokenBucket } from '../core/rate-limiter.js';
import { mergeInOrder, type PendingSubscribe, type Session } from '../core/session.js';
import { key, resumableAdapter, type RestoredData, type ResumableSocket } from './socketio-adapter.js';
import { SocketIoLink, socketIoFormat } from './socketio-link.js';
import { closeSessionsOnLostPolls } from './socketio-polling.js';
import { encodeCursor } from './stream-cursor.js';
import { answerRaw } from './raw-response.js';
import { originAllowed } from './websocket.js';

/** How long a connected socket's resumable record lives without being rewritten. */
const LIVE_RECORD_TTL = 24 * 3600_000;

type Ack = ((answer: unknown) => void) | undefined;

function tokenOf(socket: Socket): string | undefined {
  const auth = socket.handshake.auth as { token?: unknown } | undefined;
  if (typeof auth?.token === 'string' && auth.token) {
    const { token, ...rest } = auth;
    // Read once: the handshake stays with the socket for its life, the token need not.
    socket.handshake.auth = rest;
    return token;
  }
  const query = socket.handshake.query.token;
  if (typeof query === 'string' && query) return query;
  const header = socket.handshake.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

function errorBody(err: unknown): ErrorBody {
  if (err instanceof HeraldError) return err.toBody();
  return { code: ErrorCode.Internal, message: 'internal error' };
}

/** The kept record of a recovered socket, when it is this identity's; otherwise the socket starts afresh. */
function restoredFor(socket: Socket, identity: Identity): RestoredData['heraldRestore'] | undefined {
  const restore = (socket.data as Partial<RestoredData> | undefined)?.heraldRestore;
  return socket.recovered && restore && restore.tenant === identity.tenant && restore.userId === identity.userId ? restore : undefined;
}

/** What socket.io's decoder reports, in words for the client; its own messages go to the log. */
function malformedPacketMessage(err: Error): string {
  const text = err.message;
  if (/attachment|binary|plaintext/i.test(text)) return 'malformed packet: binary attachments do not match their placeholders';
  if (/unknown packet type/i.test(text)) return 'malformed packet: unknown packet type';
  return 'malformed packet: expected a Socket.IO packet with valid JSON and an event name that is a string and not reserved';
}

type Format = ReturnType<typeof socketIoFormat>;

/** `{room}` as seed 001 sends it, or a bare string. */
function roomOf(payload: unknown): string | undefined {
  if (typeof payload === 'string') return payload;
  const room = (payload as { room?: unknown } | null)?.room ?? (payload as { channel?: unknown } | null)?.channel;
  return typeof room === 'string' ? room : undefined;
}

/**
 * Socket.IO v4 on the node: stock socket.io-client connects with `auth: {token}` (or emits
 * `authenticate`), gets `connected`, and joins channels with `join-room`. Publications arrive
 * as events named after the publication's event. socket.io's rooms and broadcasting are not
 * used: the hub delivers, so there is one fan-out path for every transport and every node.
 */
export class SocketIoTransport {
  readonly io: Server;
  private readonly identities = new WeakMap<Socket, Identity>();
  private readonly recovery: boolean;

  constructor(private readonly node: Node, httpServer: HttpServer) {
    const config = node.config;
    const options = config.socketio;
    const store = node.resumeRecords;
    this.recovery = options.recoveryWindow > 0;
    const ownUpgradeListeners = new Set(httpServer.listeners('upgrade'));
    this.io = new Server(httpServer, {
      path: options.path,
      serveClient: false,
      transports: options.polling ? ['polling', 'websocket'] : ['websocket'],
      maxHttpBufferSize: config.limits.maxMessageBytes,
      pingInterval: config.heartbeat.interval,
      pingTimeout: config.heartbeat.timeout,
      connectTimeout: config.auth.connectTimeout,
      cors: { origin: config.server.corsOrigins.length === 0 ? true : config.server.corsOrigins, credentials: true },
      allowRequest: (req, callback) => callback(originAllowed(config.server.corsOrigins, req.headers.origin) ? null : 'origin not allowed', originAllowed(config.server.corsOrigins, req.headers.origin)),
      ...(this.recovery
        ? { connectionStateRecovery: { maxDisconnectionDuration: options.recoveryWindow, skipMiddlewares: false }, adapter: resumableAdapter(store, options.recoveryWindow) }
        : {}),
    });
    // engine.io refuses some upgrades only after switching protocols (an unsupported EIO version)
    // and the others as text/html: Herald routes upgrades itself and hands socket.io's to the
    // engine once handleUpgrade has checked them.
    for (const listener of httpServer.listeners('upgrade')) if (!ownUpgradeListeners.has(listener)) httpServer.off('upgrade', listener as never);
    if (options.polling) closeSessionsOnLostPolls(this.io);
    for (const entry of options.namespaces) {
      const { name, channels } = typeof entry === 'string' ? { name: entry, channels: [] } : entry;
      this.serveNamespace(this.io.of(name), socketIoFormat(name, this.recovery), channels);
    }
  }

  /** Whether an upgrade path is socket.io's (the server's upgrade dispatcher leaves those to it). */
  handles(pathname: string): boolean {
    return pathname.startsWith(this.node.config.socketio.path.replace(/\/?$/, '/'));
  }

  /**
   * A WebSocket upgrade on socket.io's path: refused here, before switching protocols and in
   * engine.io's error shape (`{code, message}`), when engine.io could not serve it.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    if (!originAllowed(this.node.config.server.corsOrigins, req.headers.origin)) {
      return answerRaw(socket, 403, { code: 4, message: 'origin not allowed' });
    }
    if (query.get('EIO') !== '4') return answerRaw(socket, 400, { code: 5, message: 'Unsupported protocol version' });
    if (query.get('transport') !== 'websocket') return answerRaw(socket, 400, { code: 0, message: 'Transport unknown' });
    (this.io.engine as unknown as { handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void }).handleUpgrade(req, socket, head);
  }

  close(): void {
    this.io.engine.close();
  }

  private serveNamespace(nsp: Namespace, format: Format, autoJoin: string[]): void {
    nsp.use((socket, next) => {
      const token = tokenOf(socket);
      if (token === undefined) return next();
      this.node.handshake.authenticate(token, { transport: 'socketio' }).then(
        async (identity) => {
          try {
            // A socket resuming its session may take its predecessor's slot: open() checks that it is still there.
            if (!restoredFor(socket, identity)) await this.node.handshake.admit(identity, { transport: 'socketio' });
          } catch (err) {
            // A refusal socket.io-client retries: a connect_error from middleware would stop it
            // for good, a closed transport makes it reconnect with its backoff.
            if ((err as HeraldError).kind?.retry !== false) {
              socket.conn.close();
              return next(new Error('refused'));
            }
          }
          this.identities.set(socket, identity);
          next();
        },
        (err: HeraldError) => {
          next(Object.assign(new Error(`unauthorized: ${err.message}`), { data: { code: err.kind.close, message: err.message } }));
        },
      );
    });
    nsp.on('connection', (socket) => this.onConnection(nsp, socket, format, autoJoin));
  }

  private onConnection(nsp: Namespace, socket: Socket, format: Format, autoJoin: string[]): void {
    const node = this.node;
    const link = new SocketIoLink(socket, format, node.config.limits.sendQueueBytes);
    const c: SocketIoConnection = { transport: this, nsp, socket, link, autoJoin, session: undefined, authenticating: false, anonymous: undefined, authTimer: undefined };
    connections.set(socket, c);
    c.authTimer = setTimeout(authTimedOut, node.config.auth.connectTimeout, c);
    c.authTimer.unref();

    const identity = this.identities.get(socket);
    if (identity) void this.open(c, identity);

    socket.onAny(socketOnAny);
    // socket.io reports a packet it cannot decode (bad JSON, a reserved or non-string event name,
    // broken attachments) here and then closes the connection; the client is told why first.
    socket.on('error', socketOnError);
    socket.on('disconnect', socketOnDisconnect);
  }

  /** Opens the socket's session for the identity, sends `connected`, rejoins a restored socket's rooms and the namespace's own. */
  private async open(c: SocketIoConnection, identity: Identity): Promise<void> {
    const node = this.node;
    const { socket, link, nsp } = c;
    c.authenticating = true;
    const restore = restoredFor(socket, identity);
    let session: Session;
    try {
      session = await node.handshake.open(identity, link, { route: nsp.name, ...(restore ? { replaces: restore.connectionId } : {}) });
    } catch (err) {
      // A full tenant or an engine outage passes: the client is told, and reconnects with its backoff.
      socket.emit('error', toHeraldError(err, node.logger, 'session').toBody());
      link.closeTransport();
      return;
    }
    c.session = session;
    link.session = session;
    if (socket.disconnected) return session.closed(CloseCode.Normal);
    clearTimeout(c.authTimer);
    c.authTimer = undefined;
    // socket.io-client keeps an event's last string argument as its recovery offset. Giving one
    // here means a client cut before its first publication still comes back with a position.
    const offset = this.recovery ? [restore ? encodeCursor(restore.cursor) : link.cursor()] : [];
    socket.emit('connected', { userId: identity.userId, role: identity.roles[0] ?? null, roles: identity.roles, tenant: identity.tenant, socketId: socket.id }, ...offset);
    const pending: PendingSubscribe[] = [];
    /** Joins a room; false when it failed in a way worth trying again (the engine, or the connection closing). */
    const subscribe = async (channel: string, since?: Parameters<Session['subscribe']>[1]): Promise<boolean> => {
      try {
        const sub = await session.subscribe(channel, since);
        link.startRoom(channel, sub.start);
        const recovery = sub.result.recovery;
        if (recovery && !recovery.recovered) socket.emit('herald:not_recovered', { channel, ...recovery });
        pending.push(sub);
        return true;
      } catch (err) {
        socket.emit('error', { event: 'join-room', room: channel, ...errorBody(err) });
        return !(err instanceof HeraldError && err.kind.retry) && !session.isClosed;
      }
    };
    // Each room resumes from its position in the client's cursor, or from where it was joined
    // when the client got nothing of it since. A restore is whole or not at all: a room that
    // could not be rejoined for now sends the client to reconnect and try again, with its
    // record untouched, rather than rewriting the record without that room.
    for (const room of restore?.rooms ?? []) {
      if (!(await subscribe(room.channel, { positions: [...restore!.cursor, { epoch: room.epoch, offset: room.offset }] }))) return link.closeTransport();
    }
    for (const template of c.autoJoin) {
      const channel = template.replaceAll('{userId}', identity.userId).replaceAll('{tenant}', identity.tenant);
      if (!session.subscriptions.has(channel)) await subscribe(channel);
    }
    session.ready();
    for (const out of withoutSeen(pending)) link.sendPublication(out);
    this.keep(nsp, socket, session, link);
  }

  /** Any event from the client: counted against its message rate, then handled (see onEvent). */
  socketEvent(c: SocketIoConnection, event: unknown, args: unknown[]): void {
    const ack: Ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
    const rate = this.node.config.limits.messageRate;
    if (!(c.session ? c.session.allowMessage() : this.anonymousTake((c.anonymous ??= new TokenBucket(rate.perSecond, rate.burst))))) {
      return c.link.close(ERRORS.rateLimited.close, 'too many messages');
    }
    void this.onEvent(event, args[0], ack, {
      session: () => c.session,
      claimAuth: () => !c.authenticating && (c.authenticating = true),
      open: (identity) => this.open(c, identity),
      socket: c.socket,
      nsp: c.nsp,
      link: c.link,
    });
  }

  socketError(c: SocketIoConnection, err: unknown): void {
    if (!(err instanceof Error)) return;
    this.node.logger.debug({ err: err.message, transport: 'socketio' }, 'malformed packet');
    c.socket.emit('error', { code: ErrorCode.BadRequest, message: malformedPacketMessage(err) });
  }

  private async onEvent(
    event: unknown,
    payload: unknown,
    ack: Ack,
    ctx: { session(): Session | undefined; claimAuth(): boolean; open(identity: Identity): Promise<void>; socket: Socket; nsp: Namespace; link: SocketIoLink },
  ): Promise<void> {
    const { socket } = ctx;
    const fail = (body: ErrorBody & Record<string, unknown>) => {
      socket.emit('error', body);
      ack?.({ error: body });
    };
    if (event === 'authenticate') {
      if (!ctx.claimAuth()) return fail({ code: ErrorCode.BadRequest, message: 'already authenticated', event });
      const token = (payload as { token?: unknown } | null)?.token;
      let identity: Identity;
      try {
        identity = await this.node.handshake.authenticate(typeof token === 'string' ? token : undefined, { transport: 'socketio' });
      } catch (err) {
        fail({ code: ERRORS.unauthorized.close as unknown as ErrorBody['code'], message: (err as Error).message, event });
        socket.disconnect(true);
        return;
      }
      await ctx.open(identity);
      ack?.({ ok: true });
      return;
    }
    const session = ctx.session();
    if (!session) return fail({ code: ErrorCode.Unauthorized, message: 'authenticate first', event: String(event) });
    try {
      switch (event) {
        case 'join-room': {
          const room = roomOf(payload);
          if (room === undefined) return fail({ code: ErrorCode.BadRequest, message: 'room: expected {room: string}', field: 'room', event });
          const sub = await session.subscribe(room);
          ctx.link.startRoom(room, sub.start);
          ack?.({ ok: true, room, ...sub.result });
          sub.flush();
          this.keep(ctx.nsp, socket, session, ctx.link);
          return;
        }
        case 'leave-room': {
          const room = roomOf(payload);
          if (room === undefined) return fail({ code: ErrorCode.BadRequest, message: 'room: expected {room: string}', field: 'room', event });
          await session.unsubscribe(room);
          ctx.link.leaveRoom(room);
          ack?.({ ok: true, room });
          this.keep(ctx.nsp, socket, session, ctx.link);
          return;
        }
        case 'publish': {
          const p = payload as { channel?: unknown; event?: unknown; data?: unknown; idempotencyKey?: unknown } | null;
          if (typeof p?.channel !== 'string' || typeof p.event !== 'string') {
            return fail({ code: ErrorCode.BadRequest, message: 'expected {channel, event, data}', event });
          }
          // Awaited before the ack: `ack?.(await ...)` would skip the work itself when there is no ack.
          const published = await session.publish(p.channel, p.event, p.data, typeof p.idempotencyKey === 'string' ? p.idempotencyKey : undefined);
          ack?.(published);
          return;
        }
        case 'lock':
        case 'unlock': {
          const p = payload as { channel?: unknown; name?: unknown } | null;
          if (typeof p?.channel !== 'string' || typeof p.name !== 'string') {
            return fail({ code: ErrorCode.BadRequest, message: 'expected {channel, name}', event });
          }
          const answer = event === 'lock' ? await session.lock(p.channel, p.name) : await session.unlock(p.channel, p.name);
          ack?.(answer);
          return;
        }
        case 'cancel': {
          const p = payload as { channel?: unknown; streamId?: unknown } | null;
          if (typeof p?.channel !== 'string' || (p.streamId !== undefined && typeof p.streamId !== 'string')) {
            return fail({ code: ErrorCode.BadRequest, message: 'expected {channel, streamId?}', event });
          }
          const cancelled = await this.node.streams.cancel(session.identity, p.channel, p.streamId as string | undefined, session.ref());
          ack?.({ cancelled });
          return;
        }
        case 'presence': {
          const channel = roomOf(payload);
          if (channel === undefined) return fail({ code: ErrorCode.BadRequest, message: 'expected {channel}', event });
          const presence = await session.presence(channel);
          ack?.(presence);
          return;
        }
        default:
          return fail({ code: ErrorCode.UnknownFrame, message: `unknown event ${JSON.stringify(event)}`.slice(0, 200), event: typeof event === 'string' ? event.slice(0, 100) : String(event) });
      }
    } catch (err) {
      const room = roomOf(payload);
      fail({ ...errorBody(err), event: String(event), ...(room !== undefined ? { room } : {}) });
    }
  }

  /** The message rate before authentication, when there is no session to count it. */
  private anonymousTake(bucket: TokenBucket): boolean {
    if (bucket.take()) return true;
    this.node.events.emit('denial', { reason: 'rate_limited', transport: 'socketio' });
    return false;
  }

  /** Writes the socket's resumable record: its rooms and where they started, for a return on any node. */
  private keep(nsp: Namespace, socket: Socket, session: Session, link: SocketIoLink): void {
    const store = this.node.resumeRecords;
    const pid = (socket as unknown as { pid?: string }).pid;
    // A connection that already ended must not rewrite the record its successor restores from.
    if (!this.recovery || !pid || session.isClosed || socket.disconnected) return;
    const record: ResumableSocket = { sid: socket.id, connectionId: session.id, tenant: session.tenant, userId: session.identity.userId, rooms: link.rooms() };
    store.save(key(nsp.name, pid), JSON.stringify(record), LIVE_RECORD_TTL).catch((err) => this.node.logger.warn({ err }, 'socket.io session record not saved'));
  }
}

/** One socket's state between its connection and its end: a record the shared listeners below find, not closures per socket. */
interface SocketIoConnection {
  readonly transport: SocketIoTransport;
  readonly nsp: Namespace;
  readonly socket: Socket;
  readonly link: SocketIoLink;
  readonly autoJoin: string[];
  session: Session | undefined;
  /** Set once a token is being checked, so a second `authenticate` is refused rather than opening a second session. */
  authenticating: boolean;
  /** The message rate before a session counts it; made on the first message. */
  anonymous: TokenBucket | undefined;
  /** Until the session opens; not kept after. */
  authTimer: NodeJS.Timeout | undefined;
}
const connections = new WeakMap<Socket, SocketIoConnection>();

function authTimedOut(c: SocketIoConnection): void {
  if (c.session) return;
  c.socket.emit('error', { code: CloseCode.AuthTimeout, message: 'no authenticate event with a token in time' });
  c.socket.disconnect(true);
}

function socketOnAny(this: Socket, event: unknown, ...args: unknown[]): void {
  const c = connections.get(this);
  c?.transport.socketEvent(c, event, args);
}

function socketOnError(this: Socket, err: unknown): void {
  const c = connections.get(this);
  c?.transport.socketError(c, err);
}

function socketOnDisconnect(this: Socket): void {
  const c = connections.get(this);
  if (!c) return;
  clearTimeout(c.authTimer);
  c.authTimer = undefined;
  c.session?.closed(CloseCode.Normal);
}

/**
 * The replays and held publications of a resume as one stream, each publication once: a
 * publish to several rooms of the socket is sent once, and not at all when the client already
 * has it from a room whose position is past it.
 */
function withoutSeen(pending: PendingSubscribe[]): OutboundPublication[] {
  const sent = new Set(pending.flatMap((p) => p.seenIds));
  return mergeInOrder(pending.map((p) => p.take())).filter((out) => !sent.has(out.publication.id) && sent.add(out.publication.id));
}
