import type { Audience, PresenceUser, Publication, Publisher } from '@herald/protocol';

/**
 * A channel inside a tenant: `${tenant}:${channel}`. Tenant names never contain ':',
 * so the first ':' separates them. Engines treat keys as opaque strings.
 */
export type ChannelKey = string;

export function channelKey(tenant: string, channel: string): ChannelKey {
  return `${tenant}:${channel}`;
}

export function splitChannelKey(key: ChannelKey): { tenant: string; channel: string } {
  const i = key.indexOf(':');
  return { tenant: key.slice(0, i), channel: key.slice(i + 1) };
}

/** A publication as engines store and carry it: the wire publication plus its audience. */
export interface StoredPublication extends Publication {
  audience?: Audience;
}

export interface HistoryOptions {
  /** How many publications to keep; 0 keeps none (offsets still advance). */
  size: number;
  /** How long a publication is kept, in ms, counted from when the engine stored it (by the engine's clock). */
  ttlMs: number;
  /** How long the stream's epoch and offset outlive its last publication, in ms. */
  metaTtlMs: number;
}

export interface PublishInput {
  /** Assigned by the hub; one id for every channel of a multi-channel publish. */
  id: string;
  channel: string;
  event: string;
  data: unknown;
  ts: number;
  audience?: Audience;
  /** The client that published it (see Publisher); stored and delivered with it. */
  publisher?: Publisher;
}

export interface PublishOptions {
  history: HistoryOptions;
  /**
   * A retry with the same key on the same channel key within `ttlMs` returns the first
   * publication and is not delivered. Keys are scoped per channel key.
   */
  idempotency?: { key: string; ttlMs: number };
}

export interface PublishResult {
  publication: StoredPublication;
  /** True when the idempotency key was seen before: nothing was stored or delivered. */
  duplicate: boolean;
}

/** One publication of a `publishMany` call. */
export interface PublishItem {
  key: ChannelKey;
  input: PublishInput;
  options: PublishOptions;
}

/** One item's outcome in `publishMany`: its result, or the error its own `publish` would have rejected with. */
export type PublishItemResult = PublishResult | { error: Error };

export interface HistoryQuery {
  /** Only publications with a greater offset. */
  afterOffset?: number;
  /** At most this many, the oldest first (after `afterOffset`), or the newest when `afterOffset` is absent. */
  limit?: number;
}

export interface HistoryPage {
  epoch: string;
  /** The stream's latest offset (0 when nothing was ever published in this epoch). */
  offset: number;
  /** In increasing offset order. */
  publications: StoredPublication[];
  /**
   * Offsets of kept entries in the range read that could not be decoded, or hold data JSON
   * cannot encode: left out of `publications`, so that one bad entry never fails a read. Absent
   * when there were none. Readers must treat them as missed, never as a complete read.
   */
  unreadable?: number[];
}

/**
 * The engine could not serve a request for now (its backend is unreachable, timed out, or refused
 * for the moment): worth a retry, answered 503. Anything else an engine throws is a fault (500).
 */
export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
}

/** What travels between nodes for a channel. */
export type ChannelMessage =
  | { kind: 'pub'; key: ChannelKey; publication: StoredPublication }
  | { kind: 'join' | 'leave'; key: ChannelKey; user: PresenceUser };

/** Node-wide commands, delivered to every node (including the sender). */
export type ControlCommand =
  | { kind: 'disconnect'; tenant: string; userId?: string; connectionId?: string; code: number; reason: string }
  /** A question to every node (see core/cluster.ts); `from` is the asking node's id. */
  | { kind: 'request'; id: string; from: string; question: unknown }
  /** One node's answer to a request, for the node that asked. */
  | { kind: 'answer'; id: string; to: string; from: string; answer: unknown }
  /** A stream ended (see StreamStore), for the node holding its upload. */
  | { kind: 'stream'; streamId: string; state: StreamState };

/**
 * Entries a node left behind when it stopped without removing them (a crash), found expired.
 * `user`: the user has no connection left in the tenant; `presence`: no connection left in the
 * channel. Each is reported once, to one node.
 */
export type ExpiredEntry =
  | { kind: 'user'; tenant: string; userId: string; announce?: Record<string, unknown> }
  | { kind: 'presence'; key: ChannelKey; user: PresenceUser };

/** The node's callbacks. Engines call them; they never touch connections. */
export interface EngineHandler {
  /** A message for a key this node subscribed to, in per-key publish order. */
  onChannelMessage(message: ChannelMessage): void;
  onControl(command: ControlCommand): void;
  /**
   * Delivery to this node stopped (the engine lost its connection): what is published until
   * `onResumed` never arrives. Engines that cannot lose messages (memory) never call it.
   */
  onInterrupted?(): void;
  /**
   * Delivery is back for every key subscribed before `onInterrupted`; messages published after
   * this call arrive, the ones before it are only in history.
   */
  onResumed?(): void;
  /** See ExpiredEntry. Engines whose entries cannot outlive their node (memory) never call it. */
  onExpired?(entry: ExpiredEntry): void;
}

/**
 * Fan-out and history. Publications of one channel are delivered to every subscribed node in
 * offset order; ordering across channels is not defined.
 */
export interface Broker {
  /**
   * Start delivering the key's messages to this node's handler. Called on the key's first local
   * subscriber; idempotent. Resolves once messages published afterwards are sure to arrive.
   */
  subscribe(key: ChannelKey): Promise<void>;
  /** Stop delivering the key's messages to this node. Called when its last local subscriber leaves. */
  unsubscribe(key: ChannelKey): Promise<void>;
  /**
   * Assigns the next offset, appends to history (trimmed to size, with TTL) and delivers to every
   * subscribed node, atomically per key: two publishes to one key are stored and delivered in the
   * same order. Resolves once the publication is stored (acknowledged). A rejection does not
   * prove it was not stored (a timeout may race the write): retry with an idempotency key.
   * Data JSON cannot encode (see `dataProblem` at DATA_DEPTH_CEILING) is rejected before anything
   * is stored, with an error other than EngineUnavailableError.
   */
  publish(key: ChannelKey, input: PublishInput, options: PublishOptions): Promise<PublishResult>;
  /**
   * Publishes many items as `publish` would one after another, in item order (so items of one key
   * get increasing offsets in that order), with one round trip to the backend for the lot. Each
   * item gets its own result: one that fails (data that cannot be stored, a refused write) gets
   * the error `publish` would have rejected with, and the others are still stored. Resolves with
   * one result per item, in item order. Rejects, like `publish`, when the backend did not answer:
   * then any of the items may or may not have been stored.
   */
  publishMany(items: readonly PublishItem[]): Promise<PublishItemResult[]>;
  /**
   * The id a publish to several channels with this idempotency key goes out under: `id` when
   * the key is new to the tenant (it is kept for `ttlMs`), or the id an earlier call kept. A
   * retry of a publish that reached only some of its channels (its node died halfway) then
   * stores the rest under the first id, so every channel has the publication under one id.
   */
  reserveId(tenant: string, idempotencyKey: string, id: string, ttlMs: number): Promise<string>;
  /** Delivers a join or leave to every subscribed node. Not stored. May be asynchronous, even to this node. */
  publishJoinLeave(kind: 'join' | 'leave', key: ChannelKey, user: PresenceUser): Promise<void>;
  /**
   * Reads history. An unknown or expired stream answers with a fresh epoch and offset 0. An entry
   * that cannot be read is skipped and listed in `unreadable`, never a failed read.
   */
  history(key: ChannelKey, query: HistoryQuery): Promise<HistoryPage>;
  /** Delivers a command to every node, this one included; may be asynchronous. */
  publishControl(command: ControlCommand): Promise<void>;
  /** How many nodes receive control commands now (this one included): how many answers a cluster-wide request can expect. */
  nodeCount(): Promise<number>;
}

export interface PresenceEntry {
  connectionId: string;
  userId: string;
  info?: Record<string, unknown>;
}

export interface PresenceJoined {
  /** The user's first connection in the channel. */
  first: boolean;
  /** The channel had no connection before this one, on any node. */
  occupied: boolean;
}

export interface PresenceLeft {
  /** The user has no connection left in the channel. */
  last: boolean;
  /** The channel has no connection left, on any node. */
  vacated: boolean;
}

/** Who is subscribed to a channel, across nodes. */
export interface PresenceStore {
  /**
   * Adds a connection. A user's info is the one given by their first connection. `first` and
   * `occupied` are decided atomically with the change: of concurrent joins on several nodes,
   * exactly one is the channel's `occupied` (and one the user's `first`).
   */
  join(key: ChannelKey, entry: PresenceEntry): Promise<PresenceJoined>;
  /**
   * Removes a connection; `last` and `vacated` are decided atomically as `join`'s are. An unknown
   * connection is neither. A connection that expires (its node vanished) is not reported here.
   */
  leave(key: ChannelKey, entry: PresenceEntry): Promise<PresenceLeft>;
  /** Users in the channel with their connection counts. */
  list(key: ChannelKey): Promise<PresenceUser[]>;
  /** Number of connections in the channel. */
  count(key: ChannelKey): Promise<number>;
}

export interface ConnectionEntry {
  connectionId: string;
  userId: string;
  connectedAt: number;
  /**
   * What `user:offline` says about the user should their node stop without removing the entry
   * (see ExpiredEntry). A user's first connection sets it.
   */
  announce?: Record<string, unknown>;
}

/** Every connection of every user of a tenant, across nodes: the per-user and per-tenant limits and online status. */
export interface ConnectionRegistry {
  /** Registers a connection; returns the user's connections, the oldest first, this one included. */
  add(tenant: string, entry: ConnectionEntry): Promise<ConnectionEntry[]>;
  /** Removes a connection; `last` is true when the user has no connection left in the tenant. */
  remove(tenant: string, entry: ConnectionEntry): Promise<{ last: boolean }>;
  /** Connections in the tenant. */
  tenantCount(tenant: string): Promise<number>;
}

/**
 * Records of resumable connections (Socket.IO connection state recovery): small opaque strings
 * with expiry, readable from any node.
 */
export interface ResumeRecordStore {
  save(id: string, record: string, ttlMs: number): Promise<void>;
  /** The record, or undefined when absent or expired. */
  load(id: string): Promise<string | undefined>;
  remove(id: string): Promise<void>;
}

/** Who holds a soft lock. */
export interface LockHolder {
  connectionId: string;
  userId: string;
  info?: Record<string, unknown>;
}

export interface LockState {
  holder: LockHolder;
  /** ms since epoch (the engine's clock). */
  expiresAt: number;
}

/**
 * Soft locks with a TTL, across nodes: a lock is held by one connection until it releases it,
 * or stops refreshing it and the TTL runs out. Lock keys are opaque strings.
 */
export interface LockStore {
  /** Takes the lock if it is free or already this connection's (which extends it); else reports the holder. */
  acquire(key: string, holder: LockHolder, ttlMs: number): Promise<{ acquired: boolean; state: LockState }>;
  /** Extends a lock this connection holds; false when it no longer does. */
  refresh(key: string, connectionId: string, ttlMs: number): Promise<boolean>;
  /** Releases a lock this connection holds; false when it did not hold it. */
  release(key: string, connectionId: string): Promise<boolean>;
  get(key: string): Promise<LockState | undefined>;
}

/** Everything a node needs from the outside world. Memory (one process) or Redis (many nodes). */
export interface Engine {
  readonly name: string;
  readonly broker: Broker;
  readonly presence: PresenceStore;
  readonly connections: ConnectionRegistry;
  readonly resumeRecords: ResumeRecordStore;
  readonly locks: LockStore;
  /** Backend streams (docs/streams.md); an engine without it answers stream requests 503. */
  readonly streams?: StreamStore;
  /**
   * Connects and registers the node's handler. Called once, before any other method. An engine
   * with a backend waits a bounded time for it and then rejects.
   */
  start(handler: EngineHandler): Promise<void>;
  /** True while the engine can serve publishes (for `/ready`). */
  isReady(): boolean;
  /**
   * Disconnects. Presence and connection entries are not removed here (the hub removes its
   * own as connections close); entries of a node that stops without that expire on their own.
   */
  close(): Promise<void>;
}

export type StreamState = 'open' | 'completed' | 'failed' | 'cancelled';

/** A stream as it is opened: its channels (the first is its home) and how its chunks coalesce. */
export interface StreamOpening {
  id: string;
  /** Channel keys of one tenant; the stream's keys live with the first. */
  keys: ChannelKey[];
  /** Opaque to the engine: what the core needs to end the stream (its messages). */
  meta: string;
  /** Put between two chunks of one group in the coalesced text (`\n` for lines, nothing for tokens). */
  separator: string;
  /** How long the stream's record lives without a write, in ms. */
  ttlMs: number;
}

/** One chunk: the text that coalesces, and the group it coalesces within (chunks of one group in a row are joined). */
export interface StreamChunk {
  group: string;
  text: string;
}

/** A run of chunks of one group, coalesced. */
export interface StreamRun {
  group: string;
  text: string;
}

export type StreamWrite =
  | { status: 'ok'; results: PublishItemResult[]; bytes: number }
  | { status: 'unknown' }
  | { status: 'ended'; state: StreamState }
  /** The stream's coalesced text would pass the limit; nothing was written. */
  | { status: 'too_long'; bytes: number };

export interface StreamEnding {
  state: Exclude<StreamState, 'open'>;
  reason: string;
  /** How long an ended stream is remembered, in ms. */
  retentionMs: number;
  /** Only when the stream had no write for this long (the idle sweep); 0 for any. */
  idleMs: number;
}

export type StreamEnd = { status: 'ok'; results: PublishItemResult[] } | { status: 'unknown' } | { status: 'ended'; state: StreamState } | { status: 'active' };

/** One open stream of a channel, as a joiner gets it. */
export interface StreamSnapshot {
  id: string;
  meta: string;
  runs: StreamRun[];
}

/**
 * Backend streams: ordered chunks published on their channels, with a state that ends once.
 * Every write is atomic with its publications (see Broker.publish): a chunk is stored and
 * published only while the stream is open and within its length, in write order, and exactly
 * one `end` wins. Publications go out exactly as `Broker.publishMany` would send the items.
 */
export interface StreamStore {
  /** Creates the stream and publishes its items (the start message); `exists` when the id is taken. */
  open(opening: StreamOpening, items: readonly PublishItem[]): Promise<{ status: 'ok'; results: PublishItemResult[] } | { status: 'exists' }>;
  /**
   * Appends chunks, in order, and publishes the items, when the stream is open and its coalesced
   * text stays within `maxBytes`; otherwise writes nothing and says why. Refreshes its idle time.
   */
  append(id: string, home: ChannelKey, chunks: readonly StreamChunk[], items: readonly PublishItem[], maxBytes: number, ttlMs: number): Promise<StreamWrite>;
  /** Refreshes an open stream's idle time without writing (its backend is still there); false when it is not open. */
  touch(id: string, home: ChannelKey, ttlMs: number): Promise<boolean>;
  /** Ends an open stream and publishes the items (its last message): exactly one caller gets `ok`. */
  end(id: string, home: ChannelKey, ending: StreamEnding, items: readonly PublishItem[]): Promise<StreamEnd>;
  /** The stream's home channel key, or undefined when the id is unknown (or forgotten after its retention). */
  locate(id: string): Promise<{ home: ChannelKey; keys: ChannelKey[]; state: StreamState; meta: string } | undefined>;
  /**
   * The channel's open streams with their coalesced text, and the channel's stream position when
   * they were read: every chunk at or below `offset` is in a snapshot, every later one is not.
   * Undefined when the channel has no open stream (one cheap read: every subscribe asks).
   */
  snapshot(key: ChannelKey): Promise<{ epoch: string; offset: number; streams: StreamSnapshot[] } | undefined>;
  /** Ids and home keys of open streams whose last write is at least `idleMs` old (at most `limit`). */
  idle(idleMs: number, limit: number): Promise<{ id: string; home: ChannelKey }[]>;
}
