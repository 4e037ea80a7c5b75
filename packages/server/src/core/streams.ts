import { randomBytes } from 'node:crypto';
import { channelNameProblem, dataProblem } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { HeraldConfig } from '../config/schema.js';
import { channelKey, type ChannelKey, type ControlCommand, type HistoryOptions, type PublishItem, type PublishItemResult, type StoredPublication, type StreamState, type StreamStore } from '../engine.js';
import type { Logger } from '../logger.js';
import type { ChannelPolicy } from './channel-policy.js';
import { badRequest, HeraldError, toHeraldError, unavailable } from './errors.js';
import type { ConnectionRef, LifecycleBus } from './events.js';
import { newPublicationId } from './ids.js';
import { OpenStreams } from './open-streams.js';
import { chunkOf, eventOf, runMessage, STREAM_KINDS, type StreamKind, type StreamMessage, type StreamMeta } from './stream-messages.js';
import { TENANT_NAME, TENANT_NAME_RULE } from './tenant-name.js';

/** Most channels one stream is published on. */
export const MAX_STREAM_CHANNELS = 4;
/** What a stream id can be (they are minted as 16 base64url characters). */
const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Idle streams ended per sweep, per node. */
const SWEEP_BATCH = 100;

/** What streams need from the node that owns the engine. */
export interface StreamsHost {
  readonly config: HeraldConfig;
  readonly policy: ChannelPolicy;
  readonly logger: Logger;
  readonly events: LifecycleBus;
  historyOptions(channel: string): HistoryOptions;
  publishControl(command: ControlCommand): Promise<void>;
  engineReady(): boolean;
}

export interface StreamOpenRequest {
  channels: string[];
  kind: StreamKind;
  start?: StreamMessage;
  cancelled?: StreamMessage;
  failed?: StreamMessage;
}

/** A write to a stream that has ended: 409, with the state it ended in. */
export class StreamEndedError extends HeraldError {
  constructor(readonly streamId: string, readonly state: StreamState) {
    super('streamEnded', `stream ${streamId} has ended: ${state}`);
  }
}

type Published = Exclude<PublishItemResult, { error: Error }>;

/**
 * Backend streams (docs/streams.md): open, append, complete or fail from the backend, cancel
 * from a viewer, and the idle sweep. Every write goes through the engine's StreamStore in one
 * atomic step with its publications, so viewers on every node see one order and nothing after
 * the end. A stream's end reaches the node holding its upload at once, over the control channel.
 */
export class Streams {
  /** Uploads waiting on a stream's end (or this node's shutdown: `unavailable`), on this node. */
  private readonly watchers = new Map<string, Set<(state: StreamState | 'unavailable') => void>>();
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** The streams this node opened, until they end (see OpenStreams). */
  readonly opened = new OpenStreams();

  constructor(
    private readonly host: StreamsHost,
    private readonly store: StreamStore | undefined,
  ) {}

  private get limits() {
    return this.host.config.streams;
  }

  start(): void {
    if (!this.store) return;
    const every = Math.max(50, Math.min(1000, this.limits.idleTimeout / 4));
    this.sweeper = setInterval(() => void this.sweep(), every);
    this.sweeper.unref();
  }

  /** Stops the sweep and answers this node's open uploads `unavailable`, so their backends go on elsewhere. */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const id of [...this.watchers.keys()]) this.notify(id, 'unavailable');
  }

  /** Opens a stream on its channels and publishes its start message; answers its id. */
  async open(tenant: string, request: StreamOpenRequest): Promise<{ id: string; offsets: Record<string, number> }> {
    const store = this.required();
    if (!TENANT_NAME.test(tenant)) throw badRequest(TENANT_NAME_RULE, 'tenant');
    const channels = [...new Set(request.channels)];
    channels.forEach((channel, i) => {
      const problem = channelNameProblem(channel);
      if (problem) throw badRequest(problem, `channels.${i}`);
    });
    for (const [name, message] of [['start', request.start], ['cancelled', request.cancelled], ['failed', request.failed]] as const) {
      if (message !== undefined) this.checkMessage(message, name);
    }
    const { field, separator } = STREAM_KINDS[request.kind];
    const id = randomBytes(12).toString('base64url');
    const meta: StreamMeta = {
      tenant,
      channels,
      kind: request.kind,
      field,
      ...(request.start ? { start: request.start } : {}),
      cancelled: request.cancelled ?? { type: 'stream_cancelled' },
      failed: request.failed ?? { type: 'stream_failed', error: '' },
    };
    const keys = channels.map((c) => channelKey(tenant, c));
    const items = request.start ? this.items(meta, [request.start]) : [];
    const opened = await this.engineCall(() => store.open({ id, keys, meta: JSON.stringify(meta), separator, ttlMs: this.recordTtl() }, items));
    if (opened.status === 'exists') throw unavailable('stream id collision, try again');
    const offsets = this.offsets(opened.results);
    this.opened.add({ id, tenant, channels, kind: request.kind, openedAt: Date.now() });
    this.host.events.emit('stream', { action: 'opened', tenant, channel: channels[0], streamId: id });
    return { id, offsets };
  }

  /**
   * Appends chunks (the backend's messages, each with the kind's text field) in order. `scope` is
   * the tenant the caller is limited to, if any: another tenant's stream is not found.
   */
  async append(scope: string | undefined, id: string, messages: readonly unknown[], fieldOf: (i: number) => string = (i) => `chunks.${i}`): Promise<{ bytes: number }> {
    const store = this.required();
    const { meta, home } = await this.locate(scope, id);
    const chunks = messages.map((message, i) => {
      const where = fieldOf(i);
      this.checkMessage(message, where);
      const m = message as StreamMessage;
      if (typeof m[meta.field] !== 'string') throw badRequest(`${where}.${meta.field}: expected a string (a ${meta.kind} stream's text)`, `${where}.${meta.field}`);
      return chunkOf(m, meta.field);
    });
    const items = this.items(meta, messages as StreamMessage[]);
    const written = await this.engineCall(() => store.append(id, home, chunks, items, this.limits.maxStreamBytes, this.recordTtl()));
    switch (written.status) {
      case 'unknown':
        throw new HeraldError('streamNotFound', `no stream ${id}`);
      case 'ended':
        throw new StreamEndedError(id, written.state);
      case 'too_long':
        throw new HeraldError('streamTooLarge', `the stream would pass streams.maxStreamBytes (${this.limits.maxStreamBytes} bytes; it has ${written.bytes})`);
    }
    this.offsets(written.results);
    return { bytes: written.bytes };
  }

  /** Tells the stream its backend is still there (an upload open on this node): its idle timeout starts again. */
  async touch(id: string, home: ChannelKey): Promise<boolean> {
    return this.required().touch(id, home, this.recordTtl());
  }

  /** Ends a stream from the backend, publishing its last message. */
  async end(scope: string | undefined, id: string, state: 'completed' | 'failed', message: StreamMessage | undefined, reason = state): Promise<{ state: StreamState }> {
    const { meta, home } = await this.locate(scope, id);
    if (message !== undefined) this.checkMessage(message, 'body');
    const won = await this.finish(id, home, meta, state, message, { reason, idleMs: 0 });
    if (won.status === 'ended') throw new StreamEndedError(id, won.state);
    return { state };
  }

  /**
   * A viewer's cancel: every open stream of the channel (or the one named) ends as cancelled,
   * where the channel's `cancel` rule allows the user. Answers the ids it cancelled.
   */
  async cancel(identity: Identity, channel: string, streamId: string | undefined, by?: ConnectionRef): Promise<string[]> {
    const store = this.required();
    const problem = channelNameProblem(channel);
    if (problem) throw new HeraldError('invalidChannel', problem, 'channel');
    if (!this.host.policy.canCancel(channel, identity)) {
      this.host.events.emit('denial', { reason: 'cancel_forbidden', tenant: identity.tenant, userId: identity.userId, channel, ...(by ? { connectionId: by.connectionId, transport: by.transport } : {}) });
      throw new HeraldError('cancelForbidden', `not allowed to cancel streams on ${channel}`);
    }
    if (streamId !== undefined && !STREAM_ID.test(streamId)) throw new HeraldError('streamNotFound', 'no such stream: ids are 1-64 of A-Z a-z 0-9 _ -');
    const key = channelKey(identity.tenant, channel);
    const streams = (await this.engineCall(() => store.snapshot(key)))?.streams ?? [];
    const targets = streamId === undefined ? streams.map((s) => s.id) : streams.some((s) => s.id === streamId) ? [streamId] : [];
    if (streamId !== undefined && targets.length === 0) {
      const where = await this.engineCall(() => store.locate(streamId));
      const meta = where ? (JSON.parse(where.meta) as StreamMeta) : undefined;
      if (!where || !meta || meta.tenant !== identity.tenant || !meta.channels.includes(channel)) throw new HeraldError('streamNotFound', `no stream ${streamId} on ${channel}`);
      throw new StreamEndedError(streamId, where.state);
    }
    const cancelled: string[] = [];
    for (const id of targets) {
      const where = await this.engineCall(() => store.locate(id));
      if (!where) continue;
      const meta = JSON.parse(where.meta) as StreamMeta;
      const outcome = await this.finish(id, where.home, meta, 'cancelled', meta.cancelled, { reason: `cancelled by ${identity.userId}`, idleMs: 0 }, { userId: identity.userId, ...(by ? { connectionId: by.connectionId } : {}) });
      if (outcome.status === 'ok') cancelled.push(id);
    }
    return cancelled;
  }

  /**
   * An admin's cancel of one stream (the API key's or console user's `by`), whatever the
   * channel's `cancel` rule: it ends as cancelled as a viewer's cancel does. `scope` as for append.
   */
  async cancelAsAdmin(scope: string | undefined, id: string, by: string): Promise<{ state: 'cancelled' }> {
    const { meta, home, state } = await this.locate(scope, id);
    if (state !== 'open') throw new StreamEndedError(id, state);
    const outcome = await this.finish(id, home, meta, 'cancelled', meta.cancelled, { reason: `cancelled by ${by}`, idleMs: 0 }, { userId: by });
    if (outcome.status === 'ended') throw new StreamEndedError(id, outcome.state);
    return { state: 'cancelled' };
  }

  /** An open stream's coalesced text in bytes, read from its home channel's snapshot; undefined when it is not open. */
  async bytesOf(id: string, home: ChannelKey): Promise<number | undefined> {
    const snap = await this.engineCall(() => this.required().snapshot(home));
    const stream = snap?.streams.find((s) => s.id === id);
    return stream ? stream.runs.reduce((n, run) => n + Buffer.byteLength(run.text), 0) : undefined;
  }

  /** The channel's open streams as a joiner gets them: the start and the coalesced text, and the position they reach. */
  async snapshot(tenant: string, channel: string): Promise<{ epoch: string; offset: number; publications: StoredPublication[] } | undefined> {
    if (!this.store) return undefined;
    const snap = await this.store.snapshot(channelKey(tenant, channel));
    if (!snap) return undefined;
    const ts = Date.now();
    const publications: StoredPublication[] = [];
    for (const stream of snap.streams) {
      const meta = JSON.parse(stream.meta) as StreamMeta;
      const messages = [...(meta.start ? [meta.start] : []), ...stream.runs.map((run) => runMessage(run, meta.field))];
      messages.forEach((data, i) => publications.push({ id: `${stream.id}.${i}`, channel, event: eventOf(data), data, offset: snap.offset, epoch: snap.epoch, ts }));
    }
    return { epoch: snap.epoch, offset: snap.offset, publications };
  }

  /** Calls `onEnd` once when the stream ends, on any node; returns the unwatch. */
  watch(id: string, onEnd: (state: StreamState | 'unavailable') => void): () => void {
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    set.add(onEnd);
    return () => {
      set.delete(onEnd);
      if (set.size === 0 && this.watchers.get(id) === set) this.watchers.delete(id);
    };
  }

  /** A stream command from the control channel; false for any other command. */
  onControl(command: ControlCommand): boolean {
    if (command.kind !== 'stream') return false;
    this.notify(command.streamId, command.state);
    return true;
  }

  /** The stream's meta and home, if the caller's tenant may see it. */
  async locate(scope: string | undefined, id: string): Promise<{ meta: StreamMeta; home: ChannelKey; state: StreamState }> {
    const store = this.required();
    if (!STREAM_ID.test(id)) throw new HeraldError('streamNotFound', 'no such stream: ids are 1-64 of A-Z a-z 0-9 _ -');
    const where = await this.engineCall(() => store.locate(id));
    const meta = where ? (JSON.parse(where.meta) as StreamMeta) : undefined;
    if (!where || !meta || (scope !== undefined && meta.tenant !== scope)) throw new HeraldError('streamNotFound', `no stream ${id}`);
    return { meta, home: where.home, state: where.state };
  }

  private async finish(
    id: string,
    home: ChannelKey,
    meta: StreamMeta,
    state: Exclude<StreamState, 'open'>,
    message: StreamMessage | undefined,
    ending: { reason: string; idleMs: number },
    by: { userId?: string; connectionId?: string } = {},
  ) {
    const store = this.required();
    const items = message ? this.items(meta, [message]) : [];
    const outcome = await this.engineCall(() => store.end(id, home, { state, reason: ending.reason, retentionMs: this.limits.retention, idleMs: ending.idleMs }, items));
    if (outcome.status === 'unknown') throw new HeraldError('streamNotFound', `no stream ${id}`);
    if (outcome.status !== 'ok') return outcome;
    this.offsets(outcome.results);
    this.host.events.emit('stream', { action: state, tenant: meta.tenant, channel: meta.channels[0], streamId: id, ...by, reason: ending.reason });
    // This node's upload hears it now; the others over the control channel.
    this.notify(id, state);
    this.host.publishControl({ kind: 'stream', streamId: id, state }).catch((err) => this.host.logger.warn({ err, stream: id }, 'stream end not announced'));
    return outcome;
  }

  /** Ends this cluster's streams whose backend stopped writing for `streams.idleTimeout`. */
  private async sweep(): Promise<void> {
    const store = this.store;
    if (!store || this.sweeping || !this.host.engineReady()) return;
    this.sweeping = true;
    const idleMs = this.limits.idleTimeout;
    try {
      for (const { id, home } of await store.idle(idleMs, SWEEP_BATCH)) {
        const where = await store.locate(id);
        if (!where) {
          // Forgotten already: the end call clears it from the idle queue.
          await store.end(id, home, { state: 'failed', reason: 'gone', retentionMs: 1, idleMs }, []);
          continue;
        }
        const meta = JSON.parse(where.meta) as StreamMeta;
        const reason = `no write for ${idleMs} ms (streams.idleTimeout)`;
        const failed = 'error' in meta.failed ? { ...meta.failed, error: reason } : meta.failed;
        await this.finish(id, home, meta, 'failed', failed, { reason: 'idle timeout', idleMs }).catch(() => undefined);
      }
    } catch (err) {
      this.host.logger.warn({ err }, 'stream idle sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  private notify(id: string, state: StreamState | 'unavailable'): void {
    if (state !== 'unavailable') this.opened.ended(id);
    const set = this.watchers.get(id);
    if (!set) return;
    this.watchers.delete(id);
    for (const onEnd of set) onEnd(state);
  }

  /** One publication per message per channel, one id per message. */
  private items(meta: StreamMeta, messages: readonly StreamMessage[]): PublishItem[] {
    const ts = Date.now();
    return messages.flatMap((data) => {
      const id = newPublicationId();
      const event = eventOf(data);
      return meta.channels.map((channel) => ({ key: channelKey(meta.tenant, channel), input: { id, channel, event, data, ts }, options: { history: this.host.historyOptions(channel) } }));
    });
  }

  /** Throws 400 or 413 for a message that is not a JSON object within the chunk and data limits. */
  private checkMessage(message: unknown, field: string): void {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) throw badRequest(`${field}: expected a JSON object`, field);
    const { maxDataDepth } = this.host.config.limits;
    const maxBytes = this.limits.maxChunkBytes;
    const problem = dataProblem(message, { maxDepth: maxDataDepth, maxBytes: Infinity });
    if (problem) throw badRequest(`${field}: ${problem}`, field);
    const bytes = Buffer.byteLength(JSON.stringify(message), 'utf8');
    if (bytes > maxBytes) throw new HeraldError('streamTooLarge', `${field}: ${bytes} bytes, more than streams.maxChunkBytes (${maxBytes})`, field);
  }

  /** The offsets a write got, by channel; a publication the engine refused fails the call. */
  private offsets(results: readonly PublishItemResult[]): Record<string, number> {
    const offsets: Record<string, number> = {};
    for (const result of results) {
      if ('error' in result) throw result.error;
      offsets[(result as Published).publication.channel] = (result as Published).publication.offset;
    }
    return offsets;
  }

  /** While open, a stream's record outlives its idle timeout, so that the sweep finds it failed rather than gone. */
  private recordTtl(): number {
    return this.limits.idleTimeout * 3 + 60_000;
  }

  private required(): StreamStore {
    if (!this.store) throw unavailable('the engine in use keeps no streams');
    return this.store;
  }

  private async engineCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw toHeraldError(err, this.host.logger, 'stream', { unavailable: 'engine unavailable, stream not written' });
    }
  }
}
