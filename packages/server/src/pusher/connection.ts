import type { PresenceUser } from '@herald/protocol';
import type { z } from 'zod';
import type { Identity } from '../auth/identity.js';
import type { PusherAppConfig } from '../config/pusher.js';
import { toHeraldError } from '../core/errors.js';
import { numericConnectionId } from '../core/ids.js';
import type { Node } from '../core/node.js';
import { TokenBucket } from '../core/rate-limiter.js';
import type { Session } from '../core/session.js';
import type { PresenceMember } from '../core/subscription.js';
import { PusherCode } from './codes.js';
import { channelData, clientFrame, isEncrypted, needsAuth, serverFrame, signinData, subscribeData, unsubscribeData, userData } from './frames.js';
import type { PusherLink } from './link.js';
import { channelAuthValid, signinAuthValid } from './signatures.js';

/** One channel of the connection; for a presence channel, its member and who the client knows is there. */
interface ChannelState {
  member?: PresenceMember;
  /** Joins and leaves that arrived before `subscription_succeeded` went out; sent after it. */
  early?: { kind: 'join' | 'leave'; user: PresenceUser }[];
  /**
   * The members the client knows of (the list, then each change): a join or leave that the list
   * already showed is not told again. As many as the channel has members, which the app's signatures decide.
   */
  members?: Set<string>;
}

/** Told in `pusher:error` without closing: refusals of one request that the protocol gives no code. */
const NO_CODE = null;

/**
 * One Pusher client connection after its session opened: subscriptions with their signatures,
 * presence members, client events, sign-in. Requests are handled one at a time in arrival
 * order, as the client sent them.
 */
export class PusherConnection {
  readonly socketId: string;
  private readonly channels = new Map<string, ChannelState>();
  private readonly clientEvents: TokenBucket;
  private queue: Promise<void> = Promise.resolve();
  private signedIn: PresenceMember | undefined;

  constructor(
    private readonly node: Node,
    private readonly app: PusherAppConfig,
    private readonly link: PusherLink,
    readonly session: Session,
  ) {
    // Connection ids are always of the numeric kind (core/ids.ts); the fallback keeps the shape regardless.
    this.socketId = numericConnectionId(session.id) ?? `${Date.now()}.${Math.floor(Math.random() * 1e9)}`;
    this.clientEvents = new TokenBucket(app.clientEventRate, Math.max(1, Math.ceil(app.clientEventRate)));
    link.onMember = (kind, channel, user) => this.onMember(kind, channel, user);
  }

  /** Tells the client its socket id and how often to show activity. */
  established(activityTimeoutMs: number): void {
    this.send('pusher:connection_established', JSON.stringify({ socket_id: this.socketId, activity_timeout: Math.max(1, Math.round(activityTimeoutMs / 1000)) }));
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (!this.link.open) return;
    this.link.lastSeen = Date.now();
    if (!this.session.allowMessage()) return this.link.closeWith(PusherCode.OverCapacity, 'too many messages');
    if (isBinary) return this.error(NO_CODE, 'binary frames are not supported');
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8'));
    } catch {
      return this.error(NO_CODE, 'frame is not valid JSON');
    }
    const parsed = clientFrame.safeParse(value);
    if (!parsed.success) return this.error(NO_CODE, 'a frame is a JSON object with a string event');
    const frame = parsed.data;
    // pusher-js sends data as an object; some clients send it as a JSON string.
    const body = typeof frame.data === 'string' && frame.event.startsWith('pusher:') ? parseOr(frame.data) : frame.data;
    switch (frame.event) {
      case 'pusher:ping':
        return this.send('pusher:pong', '{}');
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        return this.enqueue(() => this.subscribe(body));
      case 'pusher:unsubscribe':
        return this.enqueue(() => this.unsubscribe(body));
      case 'pusher:signin':
        return this.enqueue(() => this.signin(body));
    }
    if (frame.event.startsWith('client-')) return this.enqueue(() => this.clientEvent(frame.event, frame.channel, frame.data));
    this.error(NO_CODE, `unsupported event ${JSON.stringify(frame.event.slice(0, 100))}`);
  }

  onClose(code: number): void {
    this.link.onMember = undefined;
    this.session.closed(code);
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err) => this.node.logger.error({ err }, 'pusher request failed'));
  }

  private async subscribe(body: unknown): Promise<void> {
    const data = parseWith(subscribeData, body);
    if (!data) return this.error(NO_CODE, 'pusher:subscribe needs data.channel: 1-164 of A-Z a-z 0-9 _ - = @ , . ;');
    const { channel } = data;
    if (this.channels.has(channel) || this.session.isClosed) return;
    let member: PresenceMember | undefined;
    if (needsAuth(channel)) {
      const presence = channel.startsWith('presence-');
      // Without channel_data, a presence channel is signed like a private one, for the signed-in user.
      if (data.auth === undefined || !channelAuthValid(this.app, data.auth, this.socketId, channel, presence ? data.channel_data : undefined)) {
        return this.subscriptionError(channel, 401, `Invalid signature for ${channel}: expected HMAC SHA256 of "${this.socketId}:${channel}${presence ? ':<channel_data>' : ''}" with the app secret`);
      }
      if (presence) {
        member = data.channel_data !== undefined ? memberOf(data.channel_data) : this.signedIn;
        if (!member) return this.subscriptionError(channel, 400, 'channel_data must be JSON with a user_id (string, at most 128 characters) and an optional user_info object');
        if (!this.node.policy.resolve(channel)?.rule.presence) {
          this.node.logger.warn({ channel }, 'presence channel without presence in its channel rule');
          return this.subscriptionError(channel, 500, `the gateway keeps no presence for ${channel}: its channel rule needs presence and joinLeave`);
        }
      }
    } else if (channel.startsWith('#server-to-user-')) {
      if (this.signedIn?.userId !== channel.slice('#server-to-user-'.length)) return this.subscriptionError(channel, 403, `${channel} is for that user, once signed in`);
    }
    const state: ChannelState = { ...(member ? { member, early: [] } : {}) };
    this.channels.set(channel, state);
    try {
      const pending = await this.session.subscribe(channel, undefined, member ? { member, joinsWhilePending: true } : {});
      let succeeded = '{}';
      if (member) {
        const { users } = await this.session.presence(channel);
        state.members = new Set(users.map((u) => u.userId));
        succeeded = JSON.stringify(presenceList(users));
      }
      this.send('pusher_internal:subscription_succeeded', succeeded, channel);
      pending.flush();
      const early = state.early;
      state.early = undefined;
      for (const change of early ?? []) this.onMember(change.kind, channel, change.user);
    } catch (err) {
      if (this.channels.get(channel) === state) this.channels.delete(channel);
      if (this.session.subscriptions.has(channel)) await this.session.unsubscribe(channel).catch(() => undefined);
      const refusal = toHeraldError(err, this.node.logger, 'pusher subscribe');
      this.subscriptionError(channel, refusal.kind.status, refusal.message);
    }
  }

  private async unsubscribe(body: unknown): Promise<void> {
    const data = parseWith(unsubscribeData, body);
    if (!data) return this.error(NO_CODE, 'pusher:unsubscribe needs data.channel');
    if (!this.channels.delete(data.channel)) return;
    if (this.session.subscriptions.has(data.channel)) await this.session.unsubscribe(data.channel).catch(() => undefined);
  }

  /** `pusher:signin`: the app vouches for the user; the connection is theirs from now on (terminate_connections finds it). */
  private async signin(body: unknown): Promise<void> {
    const data = parseWith(signinData, body);
    if (!data || !signinAuthValid(this.app, data.auth, this.socketId, data.user_data)) {
      return this.link.closeWith(PusherCode.Unauthorized, 'Invalid signature for pusher:signin: expected HMAC SHA256 of "<socket_id>::user::<user_data>" with the app secret');
    }
    const user = parseWith(userData, parseOr(data.user_data));
    if (!user) return this.link.closeWith(PusherCode.Unauthorized, 'user_data must be JSON with an id (string, at most 128 characters)');
    if (this.signedIn && this.signedIn.userId !== user.id) return this.error(NO_CODE, 'this connection is signed in as another user');
    const member: PresenceMember = { userId: user.id, ...(user.user_info ? { info: user.user_info } : {}) };
    const previous = this.session.identity;
    const identity: Identity = { ...previous, userId: member.userId, info: member.info ?? {} };
    try {
      // The registry knows connections by user: the connection moves to the signed-in user.
      const entry = { connectionId: this.session.id, connectedAt: this.session.connectedAt };
      await this.node.unregister(previous.tenant, { ...entry, userId: previous.userId });
      await this.node.register(identity.tenant, { ...entry, userId: identity.userId });
    } catch (err) {
      const refusal = toHeraldError(err, this.node.logger, 'pusher signin');
      return this.error(NO_CODE, refusal.message);
    }
    this.session.identity = identity;
    this.signedIn = member;
    this.send('pusher:signin_success', { user_data: data.user_data });
  }

  /** A `client-*` event: on a private or presence channel this connection is subscribed to, where the app allows them. */
  private async clientEvent(event: string, channel: string | undefined, data: unknown): Promise<void> {
    if (!this.app.clientEvents) return this.error(NO_CODE, 'client events are not enabled for this app (clientEvents in its configuration)');
    if (channel === undefined || !needsAuth(channel) || isEncrypted(channel)) return this.error(NO_CODE, 'client events are supported on private and presence channels only');
    const state = this.channels.get(channel);
    if (!state || !this.session.subscriptions.has(channel)) return this.error(NO_CODE, `not subscribed to ${channel}`);
    if (!this.clientEvents.take()) {
      this.session.denied('rate_limited', channel);
      return this.error(PusherCode.ClientEventRateLimit, `Client event rejected due to rate limit: at most ${this.app.clientEventRate} per second`);
    }
    // Depth first: data nested past the limit is refused before it is measured (or encoded).
    const problem = this.node.dataProblem(data ?? null);
    if (problem) return this.error(NO_CODE, `client event data: ${problem}`);
    const size = Buffer.byteLength(JSON.stringify(data ?? null));
    if (size > this.app.maxEventBytes) return this.error(NO_CODE, `client event data is ${size} bytes, more than the app's ${this.app.maxEventBytes}`);
    const sender = state.member ?? this.signedIn ?? { userId: this.session.identity.userId };
    try {
      await this.node.publish(
        this.session.tenant,
        // Pusher never returns a client event to its sender.
        { channels: [channel], event, data: data ?? null, publisher: { userId: sender.userId }, audience: { exceptConnections: [this.session.id] }, connectionId: this.session.id },
        'client',
      );
    } catch (err) {
      const refusal = toHeraldError(err, this.node.logger, 'pusher client event');
      this.error(NO_CODE, refusal.message);
    }
  }

  /** A presence change: member_added / member_removed, after the channel's member list. */
  private onMember(kind: 'join' | 'leave', channel: string, user: PresenceUser): void {
    const state = this.channels.get(channel);
    if (!state?.member || user.userId === state.member.userId) return;
    if (state.early) {
      state.early.push({ kind, user });
      return;
    }
    const members = state.members;
    if (members) {
      if (kind === 'join' ? members.has(user.userId) : !members.has(user.userId)) return;
      if (kind === 'join') members.add(user.userId);
      else members.delete(user.userId);
    }
    if (kind === 'join') this.send('pusher_internal:member_added', JSON.stringify({ user_id: user.userId, user_info: user.info ?? {} }), channel);
    else this.send('pusher_internal:member_removed', JSON.stringify({ user_id: user.userId }), channel);
  }

  private subscriptionError(channel: string, status: number, message: string): void {
    this.send('pusher:subscription_error', { type: 'AuthError', error: message, status }, channel);
  }

  private error(code: number | null, message: string): void {
    this.send('pusher:error', { code, message });
  }

  private send(event: string, data: unknown, channel?: string): void {
    this.link.sendRaw(serverFrame(event, data, channel));
  }
}

/** The Pusher member list of a presence channel. */
export function presenceList(users: PresenceUser[]) {
  const hash: Record<string, unknown> = {};
  for (const u of users) hash[u.userId] = u.info ?? {};
  return { presence: { ids: users.map((u) => u.userId), hash, count: users.length } };
}

function memberOf(json: string): PresenceMember | undefined {
  const data = parseWith(channelData, parseOr(json));
  return data ? { userId: data.user_id, ...(data.user_info ? { info: data.user_info } : {}) } : undefined;
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> | undefined {
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}
