import type { LifecycleBus } from '../core/events.js';
import { newPublicationId } from '../core/ids.js';
import type { Logger } from '../logger.js';
import type { WebhookEndpointConfig, WebhooksConfig } from './config.js';
import { displayUrl } from './endpoint-name.js';
import { EndpointQueue, type Delivery } from './endpoint-queue.js';
import type { EndpointSpec, WebhookEncoder } from './endpoint-spec.js';
import { EventFilter } from './filter.js';
import { listenForWebhooks, type WebhookEvent } from './lifecycle-events.js';
import { postJson } from './post.js';
import { createSigner } from './signer.js';

/** How many given-up deliveries stats keep, the latest first. */
const RECENT_FAILURES = 50;
/** How many finished deliveries (sent or given up on) stats keep, the latest first. */
const RECENT_DELIVERIES = 50;
/** Drops are logged at most this often per endpoint, with the count since the last line. */
const DROP_LOG_INTERVAL_MS = 10_000;

export interface WebhookFailure {
  endpoint: string;
  webhookId: string;
  type: string;
  /** When it was given up on (ISO 8601). */
  at: string;
  attempts: number;
  status?: number;
  reason: string;
}

/** One event's delivery to one endpoint, once it is over. */
export interface WebhookDelivery {
  endpoint: string;
  webhookId: string;
  type: string;
  /** When it was sent or given up on (ISO 8601). */
  at: string;
  attempts: number;
  outcome: 'sent' | 'failed';
  status?: number;
  reason?: string;
}

export interface EndpointStats {
  name: string;
  url: string;
  events: string[];
  /** Events held: waiting, waiting for a retry, or in flight. */
  queued: number;
  queuedBytes: number;
  inFlight: number;
  sent: number;
  retries: number;
  failed: number;
  dropped: number;
}

/** Counters a metrics registry may keep in step (see webhooks/metrics.ts). */
export interface WebhookCounters {
  sent(endpoint: string): void;
  retried(endpoint: string): void;
  failed(endpoint: string): void;
  dropped(endpoint: string): void;
}

interface EndpointHooks {
  onSent(e: Endpoint, d: Delivery): void;
  onRetry(e: Endpoint, d: Delivery, reason: string, delayMs: number): void;
  onFailed(e: Endpoint, d: Delivery, outcome: { status?: number; reason: string }): void;
}

/** The Standard Webhooks body of an event: `{type, timestamp, data}`. */
const standardBody: WebhookEncoder = (event) => JSON.stringify({ type: event.type, timestamp: new Date().toISOString(), data: event.data });

/** An endpoint of `webhooks.endpoints`: Standard Webhooks bodies and signatures. */
function standardEndpoint(config: WebhookEndpointConfig, secret: string): EndpointSpec {
  const filter = new EventFilter(config);
  const sign = createSigner(secret);
  return {
    name: config.name ?? displayUrl(config.url),
    url: config.url,
    events: [...filter.types],
    filter,
    encode: standardBody,
    sign: (id, body) => ({ ...sign(id, body) }),
    timeout: config.timeout,
    concurrency: config.concurrency,
    retry: config.retry,
  };
}

/** One endpoint: its format, its queue and its counts. */
class Endpoint {
  readonly name: string;
  readonly url: string;
  readonly queue: EndpointQueue;
  sent = 0;
  retries = 0;
  failed = 0;
  dropped = 0;
  droppedUnlogged = 0;
  lastDropLog = 0;

  constructor(
    readonly spec: EndpointSpec,
    limits: WebhooksConfig['queue'],
    hooks: EndpointHooks,
    cancel: AbortSignal,
  ) {
    this.url = displayUrl(spec.url);
    this.name = spec.name;
    this.queue = new EndpointQueue({
      concurrency: spec.concurrency,
      maxEvents: limits.maxEvents,
      maxBytes: limits.maxBytes,
      retry: spec.retry,
      send: (d) => postJson(spec.url, d.body, spec.sign(d.id, d.body), spec.timeout, { cancel }),
      onSent: (d) => hooks.onSent(this, d),
      onRetry: (d, outcome, delay) => hooks.onRetry(this, d, outcome.reason, delay),
      onFailed: (d, outcome) => hooks.onFailed(this, d, outcome),
    });
  }
}

/**
 * Lifecycle events to the configured endpoints, signed as Standard Webhooks (and to the
 * endpoints of other formats given as `more`, such as Pusher apps' webhooks): each event is
 * queued for every endpoint whose filter it passes, on the node where it happened, and sent
 * from there (at least once: retries keep the `webhook-id`). Listening costs the bus a queue
 * push; a slow or failing endpoint fills only its own bounded queue, whose overflow is dropped,
 * counted, logged and announced as a `webhook` event.
 *
 * @example
 * const webhooks = new Webhooks(node.events, node.logger, config.webhooks);
 * webhooks.stats().endpoints[0].sent;
 */
export class Webhooks {
  private readonly endpoints: Endpoint[];
  private readonly failures: WebhookFailure[] = [];
  private readonly deliveries: WebhookDelivery[] = [];
  private readonly stopListening: () => void;
  /** Aborts the requests in flight at close. */
  private readonly closing = new AbortController();

  constructor(
    private readonly bus: LifecycleBus,
    private readonly logger: Logger,
    private readonly config: WebhooksConfig,
    private readonly counters?: WebhookCounters,
    more: readonly EndpointSpec[] = [],
  ) {
    const hooks: EndpointHooks = {
      onSent: (e: Endpoint, d: Delivery) => {
        e.sent += 1;
        this.counters?.sent(e.name);
        this.delivered({ endpoint: e.name, webhookId: d.id, type: d.type, at: new Date().toISOString(), attempts: d.attempts, outcome: 'sent' });
      },
      onRetry: (e: Endpoint, d: Delivery, reason: string, delayMs: number) => {
        e.retries += 1;
        this.counters?.retried(e.name);
        this.logger.debug({ event: 'webhook_retry', endpoint: e.name, webhookId: d.id, attempt: d.attempts, reason, delayMs }, 'webhook attempt failed; retrying');
      },
      onFailed: (e: Endpoint, d: Delivery, outcome: { status?: number; reason: string }) => this.failedFor(e, d, outcome),
    };
    const specs = [...config.endpoints.map((c) => standardEndpoint(c, (c.secret ?? config.secret)!)), ...more];
    this.endpoints = specs.map((spec) => new Endpoint(spec, config.queue, hooks, this.closing.signal));
    const types = new Set(this.endpoints.flatMap((e) => [...e.spec.filter.types]));
    this.stopListening = listenForWebhooks(bus, types, (event) => this.dispatch(event));
  }

  stats(): { endpoints: EndpointStats[]; queue: WebhooksConfig['queue']; recentDeliveries: WebhookDelivery[]; recentFailures: WebhookFailure[] } {
    return {
      endpoints: this.endpoints.map((e) => ({
        name: e.name,
        url: e.url,
        events: [...e.spec.events],
        queued: e.queue.depth,
        queuedBytes: e.queue.bytes,
        inFlight: e.queue.sending,
        sent: e.sent,
        retries: e.retries,
        failed: e.failed,
        dropped: e.dropped,
      })),
      queue: this.config.queue,
      recentDeliveries: [...this.deliveries],
      recentFailures: [...this.failures],
    };
  }

  /** Waits until every queue is empty, or `deadline` resolves. */
  async drain(deadline: Promise<unknown>): Promise<void> {
    await Promise.race([Promise.all(this.endpoints.map((e) => e.queue.drained())), deadline]);
  }

  /** Stops listening, cancels pending retries and aborts requests in flight; what is still queued is not sent. */
  close(): void {
    this.stopListening();
    for (const e of this.endpoints) {
      if (e.queue.depth > 0) this.logger.warn({ event: 'webhook_unsent', endpoint: e.name, queued: e.queue.depth }, 'webhook events not sent: closing');
      e.queue.close();
    }
    this.closing.abort();
  }

  private dispatch(event: WebhookEvent): void {
    // One id for every endpoint, and one body for every endpoint of a format: the same event, whoever receives it.
    const bodies = new Map<WebhookEncoder, string | undefined>();
    let id: string | undefined;
    for (const endpoint of this.endpoints) {
      const { filter, encode } = endpoint.spec;
      if (!filter.passes(event)) continue;
      if (!bodies.has(encode)) bodies.set(encode, encode(event));
      const body = bodies.get(encode);
      if (body === undefined) continue;
      id ??= `msg_${newPublicationId()}`;
      const delivery: Delivery = { id, type: event.type, body, bytes: Buffer.byteLength(body), queuedAt: Date.now(), attempts: 0 };
      if (!endpoint.queue.push(delivery)) this.dropped(endpoint, delivery);
    }
  }

  private dropped(e: Endpoint, d: Delivery): void {
    e.dropped += 1;
    e.droppedUnlogged += 1;
    this.counters?.dropped(e.name);
    const reason = `queue full (${e.queue.depth} events, ${e.queue.bytes} bytes)`;
    this.bus.emit('webhook', { action: 'dropped', endpoint: e.name, type: d.type, webhookId: d.id, reason });
    const now = Date.now();
    if (now - e.lastDropLog < DROP_LOG_INTERVAL_MS) return;
    this.logger.warn({ event: 'webhook_dropped', endpoint: e.name, dropped: e.droppedUnlogged, total: e.dropped }, `webhook events dropped: ${reason}`);
    e.lastDropLog = now;
    e.droppedUnlogged = 0;
  }

  private delivered(delivery: WebhookDelivery): void {
    this.deliveries.unshift(delivery);
    if (this.deliveries.length > RECENT_DELIVERIES) this.deliveries.length = RECENT_DELIVERIES;
  }

  private failedFor(e: Endpoint, d: Delivery, outcome: { status?: number; reason: string }): void {
    e.failed += 1;
    this.counters?.failed(e.name);
    const status = outcome.status !== undefined ? { status: outcome.status } : {};
    const failure = { endpoint: e.name, webhookId: d.id, type: d.type, at: new Date().toISOString(), attempts: d.attempts, ...status, reason: outcome.reason };
    this.failures.unshift(failure);
    if (this.failures.length > RECENT_FAILURES) this.failures.length = RECENT_FAILURES;
    this.delivered({ ...failure, outcome: 'failed' });
    this.logger.warn({ event: 'webhook_failed', endpoint: e.name, webhookId: d.id, type: d.type, attempts: d.attempts, ...status, reason: outcome.reason }, 'webhook given up on');
    this.bus.emit('webhook', { action: 'failed', endpoint: e.name, type: d.type, webhookId: d.id, ...status, reason: outcome.reason });
  }
}
