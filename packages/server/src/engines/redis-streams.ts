import type {
  ChannelKey,
  PublishItem,
  PublishItemResult,
  StreamChunk,
  StreamEnd,
  StreamEnding,
  StreamOpening,
  StreamRun,
  StreamSnapshot,
  StreamState,
  StreamStore,
  StreamWrite,
} from '../engine.js';
import { encodeItem, epochCandidates, publishArguments, publishReplies } from './redis-publish.js';
import { type RedisClient, type RunId, type ScriptCall, defineScript } from './redis-client.js';
import { isSharded } from './redis-cluster-publish.js';
import { sorted } from './redis-errors.js';
import type { RedisKeys } from './redis-keys.js';
import { streamAppendLua, streamEndLua, streamOpenLua, STREAM_SNAPSHOT_LUA, STREAM_TOUCH_LUA } from './redis-stream-scripts.js';

/** Where a stream's keys are, by id: its index entry, cached (it never changes). */
interface Located {
  home: ChannelKey;
  keys: ChannelKey[];
}

const CACHE_SIZE = 10_000;
/** A snapshot read again when streams opened or ended between its two steps; past this it fails. */
const SNAPSHOT_ATTEMPTS = 5;

const member = (id: string, home: ChannelKey) => `${id}\t${home}`;

/** See StreamStore; the scripts are in redis-stream-scripts.ts. */
export class RedisStreams implements StreamStore {
  private readonly openScript: ScriptCall;
  private readonly appendScript: ScriptCall;
  private readonly endScript: ScriptCall;
  private readonly snapshotScript: ScriptCall;
  private readonly touchScript: ScriptCall;
  private readonly located = new Map<string, Located>();

  constructor(
    private readonly redis: RedisClient,
    private readonly names: RedisKeys,
    private readonly runId: RunId,
    private readonly defaultMetaTtlMs: number,
  ) {
    this.openScript = defineScript(redis, 'heraldStreamOpen', streamOpenLua(isSharded(redis)), 'varying');
    this.appendScript = defineScript(redis, 'heraldStreamAppend', streamAppendLua(isSharded(redis)), 'varying');
    this.endScript = defineScript(redis, 'heraldStreamEnd', streamEndLua(isSharded(redis)), 'varying');
    this.snapshotScript = defineScript(redis, 'heraldStreamSnapshot', STREAM_SNAPSHOT_LUA, 'varying');
    this.touchScript = defineScript(redis, 'heraldStreamTouch', STREAM_TOUCH_LUA, 3);
  }

  async open(opening: StreamOpening, items: readonly PublishItem[]) {
    const { id, keys } = opening;
    const home = keys[0];
    const encoded = items.map(encodeItem);
    const calls = publishArguments(this.names, encoded);
    const runId = await this.runId.get();
    const keyList = [this.streamKeys(home, id), keys.map((k) => this.names.openStreams(k)), calls.keys].flat();
    const args = [runId, epochCandidates(items.length), opening.meta, opening.separator, ms(opening.ttlMs), member(id, home), keys.length, ...calls.args];
    const reply = (await this.openScript(keyList.length, ...keyList, ...args)) as (string | number)[];
    if (reply[0] === 'exists') return { status: 'exists' as const };
    await Promise.all([
      sorted(this.redis.set(this.names.streamIndex(id), JSON.stringify({ home, keys }), 'PX', ms(opening.ttlMs))),
      // Scored by this node's clock, as idle() reads it; the end script decides by Redis's own.
      sorted(this.redis.zadd(this.names.idleStreams, Date.now(), member(id, home))),
    ]);
    this.remember(id, { home, keys });
    return { status: 'ok' as const, results: publishReplies(reply.slice(2), encoded) };
  }

  async append(id: string, home: ChannelKey, chunks: readonly StreamChunk[], items: readonly PublishItem[], maxBytes: number, ttlMs: number): Promise<StreamWrite> {
    const encoded = items.map(encodeItem);
    const calls = publishArguments(this.names, encoded);
    const runId = await this.runId.get();
    const keyList = [...this.streamKeys(home, id), ...calls.keys];
    const args = [runId, epochCandidates(items.length), ms(maxBytes), ms(ttlMs), chunks.length, ...chunks.flatMap((c) => [c.group, c.text]), ...calls.args];
    // The index and the idle queue are refreshed with the write, in the same round trip.
    const [reply] = await Promise.all([
      this.appendScript(keyList.length, ...keyList, ...args) as Promise<(string | number)[]>,
      sorted(this.redis.pexpire(this.names.streamIndex(id), ms(ttlMs))),
      sorted(this.redis.zadd(this.names.idleStreams, 'XX', Date.now(), member(id, home))),
    ]);
    switch (reply[0]) {
      case 'unknown':
        return { status: 'unknown' };
      case 'ended':
        return { status: 'ended', state: String(reply[1]) as StreamState };
      case 'too_long':
        return { status: 'too_long', bytes: Number(reply[1]) };
    }
    return { status: 'ok', bytes: Number(reply[1]), results: publishReplies(reply.slice(3), encoded) };
  }

  async touch(id: string, home: ChannelKey, ttlMs: number): Promise<boolean> {
    const [open] = await Promise.all([
      this.touchScript(...this.streamKeys(home, id), ms(ttlMs)) as Promise<number>,
      sorted(this.redis.pexpire(this.names.streamIndex(id), ms(ttlMs))),
      sorted(this.redis.zadd(this.names.idleStreams, 'XX', Date.now(), member(id, home))),
    ]);
    return Number(open) === 1;
  }

  async end(id: string, home: ChannelKey, ending: StreamEnding, items: readonly PublishItem[]): Promise<StreamEnd> {
    const where = await this.locate(id);
    const keys = where?.keys ?? [home];
    const encoded = items.map(encodeItem);
    const calls = publishArguments(this.names, encoded);
    const runId = await this.runId.get();
    const keyList = [this.streamKeys(home, id), keys.map((k) => this.names.openStreams(k)), calls.keys].flat();
    const args = [runId, epochCandidates(items.length), ending.state, ending.reason, ms(ending.retentionMs), ms(ending.idleMs), member(id, home), keys.length, ...calls.args];
    const reply = (await this.endScript(keyList.length, ...keyList, ...args)) as (string | number)[];
    if (reply[0] !== 'active') await sorted(this.redis.zrem(this.names.idleStreams, member(id, home)));
    switch (reply[0]) {
      case 'unknown':
        return { status: 'unknown' };
      case 'ended':
        return { status: 'ended', state: String(reply[1]) as StreamState };
      case 'active':
        return { status: 'active' };
    }
    await sorted(this.redis.pexpire(this.names.streamIndex(id), ms(ending.retentionMs)));
    return { status: 'ok', results: publishReplies(reply.slice(2), encoded) as PublishItemResult[] };
  }

  async locate(id: string) {
    let where = this.located.get(id);
    if (!where) {
      const raw = await sorted(this.redis.get(this.names.streamIndex(id)));
      if (!raw) return undefined;
      where = JSON.parse(raw) as Located;
      this.remember(id, where);
    }
    const [state, meta] = await sorted(this.redis.hmget(this.names.stream(where.home, id), 'st', 'm'));
    if (!state || meta === null) return undefined;
    return { home: where.home, keys: where.keys, state: state as StreamState, meta };
  }

  async snapshot(key: ChannelKey) {
    const runId = await this.runId.get();
    for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
      const members = await sorted(this.redis.smembers(this.names.openStreams(key)));
      if (members.length === 0) return undefined;
      const homes = members.map((m) => {
        const tab = m.indexOf('\t');
        return { id: m.slice(0, tab), home: m.slice(tab + 1) };
      });
      const keyList = [this.names.meta(key), this.names.history(key), this.names.openStreams(key), ...homes.flatMap(({ id, home }) => this.streamKeys(home, id))];
      const reply = (await this.snapshotScript(keyList.length, ...keyList, runId, epochCandidates(1), ms(this.defaultMetaTtlMs), ...members)) as unknown[];
      if (reply[0] === 'retry') continue;
      const streams: StreamSnapshot[] = [];
      for (let i = 3; i < reply.length; i += 4) {
        const found = String(reply[i]);
        streams.push({ id: found.slice(0, found.indexOf('\t')), meta: String(reply[i + 1]), runs: splitRuns(Buffer.from(String(reply[i + 2]), 'utf8'), reply[i + 3] as string[]) });
      }
      return streams.length > 0 ? { epoch: String(reply[1]), offset: Number(reply[2]), streams } : undefined;
    }
    throw new Error(`streams of ${key} kept changing while read`);
  }

  async idle(idleMs: number, limit: number) {
    const due = await sorted(this.redis.zrangebyscore(this.names.idleStreams, '-inf', Date.now() - idleMs, 'LIMIT', 0, limit));
    return due.map((m) => {
      const tab = m.indexOf('\t');
      return { id: m.slice(0, tab), home: m.slice(tab + 1) };
    });
  }

  private streamKeys(home: ChannelKey, id: string): string[] {
    return [this.names.stream(home, id), this.names.streamText(home, id), this.names.streamRuns(home, id)];
  }

  private remember(id: string, where: Located): void {
    if (this.located.size >= CACHE_SIZE) this.located.clear();
    this.located.set(id, where);
  }
}

/** The text cut at each run's start (byte offsets, as Lua counts them). */
function splitRuns(text: Buffer, runs: string[]): StreamRun[] {
  return runs.map((entry, i) => {
    const tab = entry.indexOf('\t');
    const start = Number(entry.slice(0, tab));
    const end = i + 1 < runs.length ? Number(runs[i + 1].slice(0, runs[i + 1].indexOf('\t'))) : text.length;
    return { group: entry.slice(tab + 1), text: text.subarray(start, end).toString('utf8') };
  });
}

function ms(n: number): number {
  return Math.max(0, Math.floor(n));
}
