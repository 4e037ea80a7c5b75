import { channelNameProblem, dataProblem, eventNameProblem, TENANT_CHANNEL, type Audience, type Publisher, type RecoverySince, type ReplyResults } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { HeraldConfig } from '../config/schema.js';
import { channelKey, type Broker, type HistoryOptions, type PublishInput, type PublishItem, type PublishItemResult, type PublishOptions } from '../engine.js';
import type { Logger } from '../logger.js';
import type { ChannelPolicy, ResolvedRule } from './channel-policy.js';
import { badRequest, HeraldError, toHeraldError } from './errors.js';
import type { LifecycleBus } from './events.js';
import { readHistory } from './history-read.js';
import { newPublicationId } from './ids.js';
import { planRecovery } from './recovery.js';
import { audienceAllows } from './subscription.js';
import { TENANT_NAME, TENANT_NAME_RULE } from './tenant-name.js';

export interface PublishRequest {
  channels: string[];
  event: string;
  data: unknown;
  audience?: Audience;
  idempotencyKey?: string;
  /** The client connection's verified user, for a client publication (never from the request itself). */
  publisher?: Publisher;
  /** The publishing connection, told in the `publish` lifecycle event (Pusher's webhooks name its socket); not stored. */
  connectionId?: string;
}

export interface PublishOutcome {
  id: string;
  offsets: Record<string, number>;
  /** True when the idempotency key was seen before and nothing was delivered again. */
  duplicate: boolean;
}

/** One publish of a `publishMany` call. */
export interface TenantPublish {
  tenant: string;
  request: PublishRequest;
}

/** One publish's outcome in `publishMany`: what `publish` would have resolved or rejected with. */
export type PublishManyOutcome = PublishOutcome | { error: HeraldError };

/** A channel's history as a reader gets it: the protocol's `history` reply. */
export type HistoryReply = ReplyResults['history'];

/** The rule of the tenant channel: its events are live notices, kept by no one. */
const TENANT_RULE = { history: { size: 0, ttl: 0 } };

/**
 * The node's publish and history paths: names and data checked before anything is encoded,
 * one id for every channel of a publish, the engine told how long to keep each. Used by the node
 * only, which owns the engine this is given.
 */
export class Publishing {
  /** The node's own `$` channels and how long each keeps its publications (see reserve). */
  private readonly reserved = new Map<string, { size: number; ttlMs: number }>();

  constructor(
    private readonly broker: Broker,
    private readonly config: HeraldConfig,
    private readonly policy: ChannelPolicy,
    private readonly logger: Logger,
    private readonly events: LifecycleBus,
  ) {}

  /**
   * Publishes one event to one or more channels of a tenant: one id for all of them, an offset
   * each. Resolves once every channel's publication is stored.
   */
  async publish(tenant: string, request: PublishRequest, source: 'api' | 'client'): Promise<PublishOutcome> {
    this.check(tenant, request);
    return this.store(tenant, request, source);
  }

  /**
   * Publishes each entry as `publish` would, in entry order, with one engine call for all of them
   * (see Broker.publishMany): an entry that fails gets its error, the others are still published.
   */
  async publishMany(entries: readonly TenantPublish[], source: 'api' | 'client'): Promise<PublishManyOutcome[]> {
    const outcomes: (PublishManyOutcome | undefined)[] = entries.map(({ tenant, request }) => {
      try {
        this.check(tenant, request);
        return undefined;
      } catch (err) {
        return { error: this.failure(err) };
      }
    });
    const valid = entries.filter((_, i) => outcomes[i] === undefined);
    const stored = await this.storeMany(valid, source);
    let next = 0;
    return outcomes.map((outcome) => outcome ?? stored[next++]);
  }

  /** Throws 400 naming the first bad field of a publish: tenant, channels, event, data. */
  private check(tenant: string, request: PublishRequest): void {
    // Channel keys are `tenant:channel`: a tenant name with ':' could reach another tenant's channels.
    if (!TENANT_NAME.test(tenant)) throw badRequest(TENANT_NAME_RULE, 'tenant');
    if (request.channels.length === 0) throw badRequest('at least one channel is required', 'channels');
    request.channels.forEach((channel, i) => {
      const problem = channelNameProblem(channel);
      if (problem) throw badRequest(problem, request.channels.length > 1 ? `channels.${i}` : 'channel');
    });
    const eventProblem = eventNameProblem(request.event);
    if (eventProblem) throw badRequest(eventProblem, 'event');
    // On the parsed value, before anything encodes it: a value too deep would overflow JSON.stringify.
    const problem = this.dataProblem(request.data);
    if (problem) throw badRequest(`data: ${problem}`, 'data');
  }

  /** Why `data` may not be published under `limits.maxDataDepth` and `limits.maxDataBytes`, or undefined. */
  dataProblem(data: unknown): string | undefined {
    const { maxDataDepth, maxDataBytes } = this.config.limits;
    return dataProblem(data, { maxDepth: maxDataDepth, maxBytes: maxDataBytes });
  }

  /**
   * Keeps a `$` channel of the node's own as `history` says, whatever the channel rules match:
   * the audit feed's channel, whose history must not depend on a `*` rule.
   */
  reserve(channel: string, history: { size: number; ttlMs: number }): void {
    this.reserved.set(channel, history);
  }

  /**
   * Stores and delivers the node's own publications without checking names and without a
   * `publish` event: the audit feed's records would otherwise describe themselves.
   */
  storeQuietly(entries: readonly TenantPublish[]): Promise<PublishManyOutcome[]> {
    return this.storeMany(entries, 'api', false);
  }

  /** Stores and delivers without checking names: also for the node's own `$` channels. */
  async store(tenant: string, request: PublishRequest, source: 'api' | 'client'): Promise<PublishOutcome> {
    const [outcome] = await this.storeMany([{ tenant, request }], source);
    if ('error' in outcome) throw outcome.error;
    return outcome;
  }

  /** Stores every entry's publication on each of its channels with one engine call. */
  private async storeMany(entries: readonly TenantPublish[], source: 'api' | 'client', announce = true): Promise<PublishManyOutcome[]> {
    const ts = Date.now();
    const channelsOf = entries.map(({ request }) => (request.channels.length === 1 ? request.channels : [...new Set(request.channels)]));
    // A retry of a publish that reached only some of its channels takes the id they have.
    const reserving = (request: PublishRequest, i: number) => request.idempotencyKey !== undefined && request.idempotencyKey !== '' && channelsOf[i].length > 1;
    // Without a reservation the ids are at hand: no promise to wait for (most publishes).
    const fresh = entries.map(() => newPublicationId());
    const ids = entries.some(({ request }, i) => reserving(request, i))
      ? await Promise.all(
          entries.map(({ tenant, request }, i) =>
            reserving(request, i)
              ? this.broker.reserveId(tenant, request.idempotencyKey!, fresh[i], this.config.api.idempotencyTtl).catch((err: unknown) => ({ error: this.failure(err) }))
              : fresh[i],
          ),
        )
      : fresh;
    const items: PublishItem[] = [];
    entries.forEach(({ tenant, request }, i) => {
      const id = ids[i];
      if (typeof id !== 'string') return;
      const idempotency = request.idempotencyKey ? { key: request.idempotencyKey, ttlMs: this.config.api.idempotencyTtl } : undefined;
      for (const channel of channelsOf[i]) {
        // Optional fields set only when present (no spread of a temporary object per item).
        const input: PublishInput = { id, channel, event: request.event, data: request.data, ts };
        if (request.audience) input.audience = request.audience;
        if (request.publisher) input.publisher = request.publisher;
        const options: PublishOptions = { history: this.historyOptions(channel) };
        if (idempotency) options.idempotency = idempotency;
        items.push({ key: channelKey(tenant, channel), input, options });
      }
    });
    let results: PublishItemResult[];
    try {
      results = items.length > 0 ? await this.broker.publishMany(items) : [];
    } catch (err) {
      const error = this.failure(err);
      results = items.map(() => ({ error }));
    }
    let next = 0;
    return entries.map(({ tenant, request }, i): PublishManyOutcome => {
      const id = ids[i];
      if (typeof id !== 'string') return id;
      const mine = results.slice(next, (next += channelsOf[i].length));
      const failed = mine.find((r): r is { error: Error } => 'error' in r);
      if (failed) return { error: this.failure(failed.error) };
      const published = mine as Exclude<PublishItemResult, { error: Error }>[];
      const offsets: Record<string, number> = {};
      for (const r of published) offsets[r.publication.channel] = r.publication.offset;
      const duplicate = published.every((r) => r.duplicate);
      const outcomeId = published[0].publication.id;
      if (announce && this.events.has('publish')) {
        const publisher = request.publisher ? { publisher: request.publisher } : {};
        const connection = request.connectionId !== undefined ? { connectionId: request.connectionId } : {};
        this.events.emit('publish', { source, tenant, channels: channelsOf[i], event: request.event, id: outcomeId, duplicate, data: request.data, ...publisher, ...connection });
      }
      return { id: outcomeId, offsets, duplicate };
    });
  }

  /** Only an engine that cannot answer now is worth a retry; anything else would fail again. */
  private failure(err: unknown): HeraldError {
    return toHeraldError(err, this.logger, 'publication', { unavailable: 'engine unavailable, publication not accepted' });
  }

  /** History of a channel, as the identity may see it (audience applied); the API sees everything. */
  async history(tenant: string, identity: Identity | undefined, channel: string, query: { limit?: number; since?: RecoverySince }, rule?: ResolvedRule): Promise<HistoryReply> {
    if (!TENANT_NAME.test(tenant)) throw badRequest(TENANT_NAME_RULE, 'tenant');
    const key = channelKey(tenant, channel);
    const since = query.since;
    // With `since`, the limit applies to what follows the position, so the page is read whole
    // (a last id older than the newest `limit` publications must still be found).
    const read = since ? ('offset' in since ? { afterOffset: since.offset } : {}) : query.limit !== undefined ? { limit: query.limit } : {};
    const page = await readHistory(this.broker, this.logger, key, read);
    let publications = page.publications;
    let recovery;
    if (since) {
      const plan = planRecovery(since, page, (rule?.rule.history.size ?? 0) > 0);
      publications = plan.replay;
      recovery = plan.result;
      if (query.limit !== undefined) publications = publications.slice(0, query.limit);
    }
    if (identity && rule) publications = publications.filter((p) => audienceAllows(p, rule, identity));
    return {
      channel,
      epoch: page.epoch,
      offset: page.offset,
      publications: publications.map(({ audience: _a, ...p }) => p),
      ...(recovery ? { recovery } : {}),
      ...(page.unreadable ? { unreadable: page.unreadable } : {}),
    };
  }

  historyOptions(channel: string): HistoryOptions {
    // The tenant channel's events are live notices: nothing to keep, whatever a `*` rule says.
    const reserved = this.reserved.get(channel);
    if (reserved) return { ...reserved, metaTtlMs: this.config.channels.historyMetaTtl };
    const rule = channel === TENANT_CHANNEL ? TENANT_RULE : this.policy.resolve(channel)?.rule;
    return {
      size: rule?.history.size ?? 0,
      ttlMs: rule?.history.ttl ?? 0,
      metaTtlMs: this.config.channels.historyMetaTtl,
    };
  }
}
