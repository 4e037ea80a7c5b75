import type { ErrorBody } from './codes.js';
import type { Publication, RecoveryResult, RecoverySince } from './publication.js';

/* ---------- client → server ---------- */

/** Authenticate the connection (when no token came with the upgrade). `authenticate`, `hello` and `handshake` are accepted aliases. */
export interface ConnectFrame {
  type: 'connect' | 'authenticate' | 'hello' | 'handshake';
  id?: number;
  token: string;
  /**
   * The `connectionId` of this client's previous connection, when it reconnects: that one is
   * closed (4005) if the server still holds it, and a full tenant takes this one in its place.
   */
  replaces?: string;
}
export interface SubscribeFrame {
  type: 'subscribe';
  id?: number;
  channel: string;
  /** Resume from here: missed publications are replayed after the reply. */
  since?: RecoverySince;
}
export interface UnsubscribeFrame {
  type: 'unsubscribe';
  id?: number;
  channel: string;
}
export interface PublishFrame {
  type: 'publish';
  id?: number;
  channel: string;
  event: string;
  data?: unknown;
  /** A retry with the same key within the idempotency window returns the first result and is not delivered again. */
  idempotencyKey?: string;
}
export interface PresenceFrame {
  type: 'presence';
  id?: number;
  channel: string;
}
export interface HistoryFrame {
  type: 'history';
  id?: number;
  channel: string;
  limit?: number;
  since?: RecoverySince;
}
export interface PingFrame {
  type: 'ping';
  id?: number;
}
export interface PongFrame {
  type: 'pong';
}
/** Replace the connection's token before it expires, without reconnecting. */
export interface RefreshFrame {
  type: 'refresh';
  id?: number;
  token: string;
}

/** Take a soft lock on a channel whose rule enables locks. Answered with `{acquired, holder, expiresAt}`. */
export interface LockFrame {
  type: 'lock';
  id?: number;
  channel: string;
  name: string;
}
export interface UnlockFrame {
  type: 'unlock';
  id?: number;
  channel: string;
  name: string;
}
/**
 * Cancel the open streams of a channel (docs/streams.md), where its rule's `cancel` allows the
 * user; on a route the channel defaults to the route's. Answered with `{cancelled: [ids]}`.
 */
export interface CancelFrame {
  type: 'cancel';
  id?: number;
  channel?: string;
  streamId?: string;
}

/** The `type`s of a connect frame: `connect` and its aliases. */
export const CONNECT_FRAME_TYPES = ['connect', 'authenticate', 'hello', 'handshake'] as const satisfies readonly ConnectFrame['type'][];

/** Every client frame type, the server's schema (`@herald/protocol/schema`) and the client share. */
export const CLIENT_FRAME_TYPES = [
  ...CONNECT_FRAME_TYPES,
  'subscribe',
  'unsubscribe',
  'publish',
  'presence',
  'history',
  'lock',
  'unlock',
  'cancel',
  'ping',
  'pong',
  'refresh',
] as const satisfies readonly ClientFrame['type'][];

/** Compiles only for `never`: the frame types missing from CLIENT_FRAME_TYPES must be none. */
type NoneMissing<T extends never> = T;
export type ClientFrameTypesListed = NoneMissing<Exclude<ClientFrame['type'], (typeof CLIENT_FRAME_TYPES)[number]>>;

/** Whether a frame type is `connect` or one of its aliases. */
export function isConnectFrameType(type: string): type is ConnectFrame['type'] {
  return (CONNECT_FRAME_TYPES as readonly string[]).includes(type);
}

/** Longest token a frame (or any other way of presenting one) may carry. */
export const MAX_TOKEN_LENGTH = 16_384;

export type ClientFrame =
  | LockFrame
  | UnlockFrame
  | CancelFrame
  | ConnectFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | PublishFrame
  | PresenceFrame
  | HistoryFrame
  | PingFrame
  | PongFrame
  | RefreshFrame;

/* ---------- server → client ---------- */

export interface PresenceUser {
  userId: string;
  /** How many of the user's connections are subscribed. */
  connections: number;
  /** Display info from the token (name, avatar …), as mapped by configuration. */
  info?: Record<string, unknown>;
}

export interface SubscribeResult {
  channel: string;
  epoch: string;
  /** The channel's latest offset at subscribe time. */
  offset: number;
  /** Present when the subscribe asked to resume (`since`). */
  recovery?: RecoveryResult;
}

export interface ConnectedFrame {
  type: 'connected';
  /** Echo of the connect frame's id, when it had one. */
  id?: number;
  connectionId: string;
  userId: string;
  tenant: string;
  roles: string[];
  /** When the token expires (ms since epoch); refresh before then. */
  expiresAt?: number;
  /** The server sends `ping` every `interval` ms and closes after `timeout` ms without an answer. */
  heartbeat: { interval: number; timeout: number };
  /** Channels subscribed by the route the client connected to. */
  subscriptions: SubscribeResult[];
}

export type ReplyFrame =
  | { type: 'reply'; id: number; result: unknown }
  | { type: 'reply'; id: number; error: ErrorBody };

/**
 * `state: true` marks a publication sent to a new subscriber as part of the channel's current
 * state (a signal started and not yet ended): it is older than the subscribe's position and
 * moves no position.
 */
export type PublicationFrame = { type: 'pub'; state?: true } & Publication;

export interface JoinFrame {
  type: 'join';
  channel: string;
  user: PresenceUser;
}
export interface LeaveFrame {
  type: 'leave';
  channel: string;
  user: PresenceUser;
}
export interface ServerPingFrame {
  type: 'ping';
}
export interface ServerPongFrame {
  type: 'pong';
  id?: number;
}
/** An error not tied to a request id, e.g. an unparseable frame. */
export interface ErrorFrame extends ErrorBody {
  type: 'error';
}

export type ServerFrame =
  | ConnectedFrame
  | ReplyFrame
  | PublicationFrame
  | JoinFrame
  | LeaveFrame
  | ServerPingFrame
  | ServerPongFrame
  | ErrorFrame;

/** Results of each request type, for typed replies. */
export interface ReplyResults {
  subscribe: SubscribeResult;
  unsubscribe: Record<string, never>;
  publish: { id: string; offset: number };
  presence: { channel: string; users: PresenceUser[] };
  history: {
    channel: string;
    epoch: string;
    offset: number;
    publications: Publication[];
    /** Present when `since` was given, as for `subscribe`. */
    recovery?: RecoveryResult;
    /** Offsets of kept entries the server could not read, left out of `publications`. */
    unreadable?: number[];
  };
  refresh: { expiresAt?: number };
  lock: { acquired: boolean; holder: { userId: string; info?: Record<string, unknown> }; expiresAt: number };
  unlock: { released: boolean };
  cancel: { cancelled: string[] };
}
