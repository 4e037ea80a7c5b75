import { CLIENT_FRAME_TYPES, CloseCode, ErrorCode, isConnectFrameType, MAX_TOKEN_LENGTH, type ErrorBody, type RecoverySince, type SubscribeResult } from '@herald/protocol';
import { clientFrameSchema, describeIssue, type ParsedClientFrame } from '@herald/protocol/schema';
import type { Identity } from '../auth/identity.js';
import { DISCONNECTS, ERRORS, HeraldError, toHeraldError } from '../core/errors.js';
import type { Node } from '../core/node.js';
import { TokenBucket } from '../core/rate-limiter.js';
import type { AfterField } from '../core/recovery.js';
import type { Session } from '../core/session.js';
import { channelFor, routeLimitFor, type RouteMatch } from './routes.js';
import type { WebSocketLink } from './ws-link.js';

/** Frames a client may send before its `connect` is answered; they are handled in order afterwards. */
const MAX_EARLY_FRAMES = 32;

export interface NativeProtocolOptions {
  route?: RouteMatch;
  /** Where a route's client stopped (from the URL), to resume the route's channel. */
  since?: RecoverySince;
  /** The identity from a token given with the upgrade. */
  identity?: Identity;
  /** The client's previous connection, from `?replaces=` on the upgrade (see ConnectFrame.replaces). */
  replaces?: string;
  /** The upgrade's path, for logs. */
  path?: string;
}

/**
 * The native JSON protocol on one connection (docs/protocol.md): authentication, then requests
 * handled one at a time in arrival order, each answered by a `reply` with its id.
 */
export class NativeProtocol {
  private session: Session | undefined;
  private authenticating = false;
  /** Frames before the session opens; made on the first one (an idle connection should cost little). */
  private early: ParsedClientFrame[] | undefined;
  /** The frame being handled and those chained after it; undefined when none is in flight. */
  private queue: Promise<void> | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** A route channel waiting for the client's resume frame. */
  private awaitingResume: string | undefined;
  private pendingResume: AfterField | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  /** The route's channel, which a `cancel` without a channel means. */
  private routeChannel: string | undefined;
  /** The message rate applies before authentication too (pings are answered then); dropped once a session counts it. */
  private anonymousBucket: TokenBucket | undefined;

  constructor(
    private readonly node: Node,
    private readonly link: WebSocketLink,
    private readonly options: NativeProtocolOptions,
  ) {}

  start(): void {
    if (this.options.identity) {
      this.authenticating = true;
      void this.open(this.options.identity);
      return;
    }
    this.authTimer = setTimeout(() => {
      if (!this.session) this.link.close(DISCONNECTS.authTimeout.close, 'no connect frame with a token in time');
    }, this.node.config.auth.connectTimeout);
    this.authTimer.unref();
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    // Frames still arriving after the close was decided are dropped, not answered or counted again.
    if (this.closed || !this.link.open) return;
    this.link.lastSeen = Date.now();
    if (isBinary) return this.link.close(ERRORS.badRequest.close, 'binary frames are not supported');
    if (!(this.session ? this.session.allowMessage() : this.anonymousTake())) return this.link.close(ERRORS.rateLimited.close, 'too many messages');
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8'));
    } catch {
      return this.link.close(ERRORS.badRequest.close, 'frame is not valid JSON');
    }
    const resume = this.options.route?.route.resume;
    if (resume && (value as { type?: unknown } | null)?.type === resume.frame) return this.onResumeFrame(value as Record<string, unknown>, resume.field);
    const parsed = clientFrameSchema.safeParse(value);
    if (!parsed.success) return this.invalidFrame(value, parsed.error);
    const frame = parsed.data;
    if (frame.type === 'pong') return;
    if (frame.type === 'ping') return this.send({ type: 'pong', ...(frame.id !== undefined ? { id: frame.id } : {}) });
    if (!this.session) {
      if ('token' in frame && isConnectFrameType(frame.type)) {
        if (this.authenticating) return this.fail(frame.id, { code: ErrorCode.BadRequest, message: 'already authenticating' });
        this.authenticating = true;
        void this.authenticate(frame.token, frame.id, 'replaces' in frame ? frame.replaces : undefined);
        return;
      }
      if (!this.authenticating) return this.link.close(ERRORS.unauthorized.close, 'send a connect frame with a token first');
      const early = (this.early ??= []);
      if (early.length >= MAX_EARLY_FRAMES) return this.link.close(ERRORS.rateLimited.close, 'too many frames before connect');
      early.push(frame);
      return;
    }
    this.enqueue(frame);
  }

  onClose(code: number): void {
    this.closed = true;
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    if (this.authTimer) clearTimeout(this.authTimer);
    this.session?.closed(code);
  }

  private async authenticate(token: string, id?: number, replaces?: string): Promise<void> {
    const node = this.node;
    let identity: Identity;
    try {
      identity = await node.handshake.authenticate(token, { transport: 'websocket', ...(this.options.path ? { path: this.options.path } : {}) });
      // A token in the URL was checked against the route's limit at the upgrade, where HTTP 503 fits.
      await node.handshake.checkRoute(identity, { routeLimit: routeLimitFor(this.options.route, identity), transport: 'websocket', ...(this.options.path ? { path: this.options.path } : {}) });
    } catch (err) {
      const refusal = toHeraldError(err, node.logger, 'connect');
      return this.link.close(refusal.kind.close, refusal.message);
    }
    await this.open(identity, id, replaces);
  }

  private async open(identity: Identity, connectId?: number, replaces = this.options.replaces): Promise<void> {
    if (this.closed) return;
    let session: Session;
    try {
      session = await this.node.handshake.open(identity, this.link, {
        ...(this.options.route ? { route: this.options.route.route.path } : {}),
        ...(replaces !== undefined ? { replaces } : {}),
      });
    } catch (err) {
      const refusal = toHeraldError(err, this.node.logger, 'session');
      return this.link.close(refusal.kind.close, refusal.message);
    }
    if (this.authTimer) clearTimeout(this.authTimer);
    this.link.session = session;
    this.session = session;
    if (this.closed) return session.closed(CloseCode.Normal);
    const subscriptions: SubscribeResult[] = [];
    let flush: (() => void) | undefined;
    const route = this.options.route;
    const routeChannel = route?.channel !== undefined ? channelFor(route.channel, identity) : undefined;
    this.routeChannel = routeChannel;
    if (routeChannel !== undefined && route?.route.resume) {
      // The client says where it stopped in its first frame; subscribe then (or from now, after the deadline).
      this.awaitingResume = routeChannel;
      this.resumeTimer = setTimeout(() => void this.resumeRoute(undefined), this.node.config.auth.connectTimeout);
      this.resumeTimer.unref();
    } else if (routeChannel !== undefined) {
      try {
        const pending = await session.subscribe(routeChannel, this.options.since);
        subscriptions.push(pending.result);
        flush = pending.flush;
      } catch (err) {
        return this.closeForRoute(err);
      }
    }
    if (this.options.route?.route.format !== 'data') {
      const heartbeat = this.node.config.heartbeat;
      this.send({
        type: 'connected',
        ...(connectId !== undefined ? { id: connectId } : {}),
        connectionId: session.id,
        userId: identity.userId,
        tenant: identity.tenant,
        roles: identity.roles,
        ...(identity.expiresAt ? { expiresAt: identity.expiresAt } : {}),
        heartbeat: { interval: heartbeat.interval, timeout: heartbeat.timeout },
        subscriptions,
      });
    }
    session.ready();
    flush?.();
    if (this.pendingResume) void this.resumeRoute(this.pendingResume);
    this.anonymousBucket = undefined;
    const early = this.early;
    this.early = undefined;
    if (early) for (const frame of early) this.enqueue(frame);
  }

  /** The route's resume frame, e.g. `{"type":"HELLO","revision":41}`. */
  private onResumeFrame(frame: Record<string, unknown>, field: string): void {
    const value = frame[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      return this.fail(undefined, { code: ErrorCode.BadRequest, message: `${field}: expected a non-negative number`, field });
    }
    if (!this.session) {
      // Before the session opens (token in band): keep it until open() asks.
      this.pendingResume = { field, after: value };
      return;
    }
    if (this.awaitingResume === undefined) return this.fail(undefined, { code: ErrorCode.BadRequest, message: `${String(frame.type)} was already handled` });
    void this.resumeRoute({ field, after: value });
  }

  /** Subscribes the route's channel from the client's position (or from now) and goes live. */
  private async resumeRoute(since: AfterField | undefined): Promise<void> {
    const channel = this.awaitingResume;
    const session = this.session;
    if (channel === undefined || !session || this.closed) return;
    this.awaitingResume = undefined;
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    try {
      const pending = await session.subscribe(channel, since);
      const recovery = pending.result.recovery;
      if (recovery && !recovery.recovered) this.send({ type: 'not_recovered', channel, ...recovery });
      pending.flush();
    } catch (err) {
      this.closeForRoute(err);
    }
  }

  /** A route's channel that cannot be subscribed ends the connection: the error's kind says with what. */
  private closeForRoute(err: unknown): void {
    const refusal = toHeraldError(err, this.node.logger, 'subscribe');
    this.link.close(refusal.kind.close, refusal.message);
  }

  /** The message rate before authentication, when there is no session to count it. */
  private anonymousTake(): boolean {
    const rate = this.node.config.limits.messageRate;
    if ((this.anonymousBucket ??= new TokenBucket(rate.perSecond, rate.burst)).take()) return true;
    this.node.events.emit('denial', { reason: 'rate_limited', transport: 'websocket' });
    return false;
  }

  private enqueue(frame: ParsedClientFrame): void {
    const run = (this.queue ?? Promise.resolve())
      .then(() => this.handle(frame))
      .catch((err) => this.node.logger.error({ err }, 'frame handler failed'))
      .then(() => {
        if (this.queue === run) this.queue = undefined;
      });
    this.queue = run;
  }

  private async handle(frame: ParsedClientFrame): Promise<void> {
    const session = this.session;
    if (!session || this.closed) return;
    const id = 'id' in frame ? frame.id : undefined;
    try {
      switch (frame.type) {
        case 'subscribe': {
          const pending = await session.subscribe(frame.channel, frame.since);
          this.reply(id, pending.result);
          pending.flush();
          return;
        }
        case 'unsubscribe':
          await session.unsubscribe(frame.channel);
          return this.reply(id, {});
        case 'publish':
          return this.reply(id, await session.publish(frame.channel, frame.event, frame.data, frame.idempotencyKey));
        case 'presence':
          return this.reply(id, await session.presence(frame.channel));
        case 'history':
          return this.reply(id, await session.history(frame.channel, frame.limit, frame.since));
        case 'refresh':
          return this.reply(id, await session.refresh(frame.token));
        case 'lock':
          return this.reply(id, await session.lock(frame.channel, frame.name));
        case 'unlock':
          return this.reply(id, await session.unlock(frame.channel, frame.name));
        case 'cancel': {
          const channel = frame.channel ?? this.routeChannel;
          if (channel === undefined) return this.fail(id, { code: ErrorCode.BadRequest, message: 'channel: required outside a route', field: 'channel' });
          return this.reply(id, { cancelled: await this.node.streams.cancel(session.identity, channel, frame.streamId, session.ref()) });
        }
        case 'connect':
        case 'authenticate':
        case 'hello':
        case 'handshake':
          return this.fail(id, { code: ErrorCode.BadRequest, message: 'already connected' });
      }
    } catch (err) {
      if (err instanceof HeraldError) return this.fail(id, err.toBody());
      this.node.logger.error({ err, frame: frame.type }, 'request failed');
      return this.fail(id, { code: ErrorCode.Internal, message: 'internal error' });
    }
  }

  private invalidFrame(value: unknown, error: import('zod').ZodError): void {
    const type = (value as { type?: unknown } | null)?.type;
    const id = typeof (value as { id?: unknown } | null)?.id === 'number' ? ((value as { id: number }).id) : undefined;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return this.link.close(ERRORS.badRequest.close, 'frame must be a JSON object');
    }
    if (!this.session && !this.authenticating && typeof type === 'string' && isConnectFrameType(type)) {
      // A connect without a usable token is a missing token, not a request to retry.
      const token = (value as { token?: unknown }).token;
      const tooLong = typeof token === 'string' && token.length > MAX_TOKEN_LENGTH;
      return this.link.close(ERRORS.unauthorized.close, tooLong ? 'token too long' : 'connect frame needs a token');
    }
    if (typeof type === 'string' && this.forwardAppFrame(type, value as Record<string, unknown>)) return;
    if (typeof type !== 'string' || !(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
      // Only a string is quoted back: any other value may be nested too deep for JSON.stringify.
      const kind = Array.isArray(type) ? 'an array' : type === null ? 'null' : `a ${typeof type}`;
      const message = typeof type === 'string' ? `unknown frame type ${JSON.stringify(type.slice(0, 100))}` : type === undefined ? 'frame has no type' : `frame type must be a string, not ${kind}`;
      return this.fail(id, { code: ErrorCode.UnknownFrame, message, field: 'type' });
    }
    const { field, message } = describeIssue(error);
    this.fail(id, { code: ErrorCode.BadRequest, message, field });
  }

  /**
   * A `data` route's client speaks the app's own frames: one that is not the protocol's goes to
   * the `message` listeners (webhooks), when there are any, instead of an `unknown_frame` error.
   */
  private forwardAppFrame(type: string, frame: Record<string, unknown>): boolean {
    const route = this.options.route?.route;
    const session = this.session;
    if (!route || route.format !== 'data' || !session || (CLIENT_FRAME_TYPES as readonly string[]).includes(type)) return false;
    if (!this.node.events.has('message')) return false;
    // Held to the limits of a client's publication data: the backend gets nothing a publish could not carry.
    const problem = this.node.dataProblem(frame);
    if (problem) this.fail(undefined, { code: ErrorCode.BadRequest, message: problem });
    else this.node.events.emit('message', { ...session.ref(), route: route.path, data: frame });
    return true;
  }

  private reply(id: number | undefined, result: unknown): void {
    if (id !== undefined) this.send({ type: 'reply', id, result });
  }

  private fail(id: number | undefined, error: ErrorBody): void {
    this.send(id !== undefined ? { type: 'reply', id, error } : { type: 'error', ...error });
  }

  private send(frame: object): void {
    this.link.sendRaw(JSON.stringify(frame));
  }
}
