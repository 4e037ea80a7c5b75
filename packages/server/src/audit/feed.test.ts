import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { Registry } from 'prom-client';
import type { HeraldConfigInput } from '../config/schema.js';
import type { OutboundPublication } from '../core/outbound.js';
import type { Engine } from '../engine.js';
import { createMemoryEngine } from '../engines/memory.js';
import { startCluster, startNode, subscribe, type NodeFixture } from '../testing/node-fixture.js';
import { RecordingLink } from '../testing/recording-link.js';
import { waitFor } from '../testing/wait.js';
import { AuditFeed } from './feed.js';
import type { AuditFilter } from './filter.js';
import { auditMetrics } from './metrics.js';
import { AUDIT_KEY, type AuditLink, type AuditStart } from './reader.js';
import type { AuditRecord } from './records.js';

const CONFIG: HeraldConfigInput = { audit: { enabled: true, operatorTenant: 'ops' } };

/** An AuditLink in memory: what the feed sends one reader, and how it closes it. */
class RecordingAuditLink implements AuditLink {
  readonly transport = 'test';
  readonly starts: AuditStart[] = [];
  readonly records: AuditRecord[] = [];
  closedWith: { code: number; reason: string } | undefined;
  tooSlow: (() => void) | undefined;

  /** `queueLimit`: records past it make the link report a slow reader, as a full send queue does. */
  constructor(private readonly queueLimit = Infinity) {}

  sendStart(start: AuditStart): void {
    this.starts.push(start);
  }

  sendRecord(out: OutboundPublication): void {
    if (this.closedWith) return;
    if (this.records.length >= this.queueLimit) return this.tooSlow?.();
    this.records.push(out.publication.data as AuditRecord);
  }

  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
  }
}

async function startFeed(fx: NodeFixture) {
  const metrics = auditMetrics(new Registry());
  const feed = new AuditFeed(fx.node, fx.config.audit, metrics);
  feed.start();
  return { feed, metrics };
}

/** A reader of `feed` for an admin of `tenant`, started with the filter. */
async function read(fx: NodeFixture, feed: AuditFeed, options: { tenant?: string; filter?: AuditFilter; queueLimit?: number; ttlSeconds?: number } = {}) {
  const identity = await fx.node.handshake.verify(await fx.token({ sub: 'root', tenant: options.tenant ?? 'ops', roles: ['admin'] }, options.ttlSeconds));
  const link = new RecordingAuditLink(options.queueLimit);
  const filter = options.filter ?? {};
  const reader = feed.admit(identity, link, feed.scopeOf(identity, filter, { transport: 'test', path: '/ws/audit' }));
  link.tooSlow = () => reader.tooSlow();
  await reader.start(filter);
  return { reader, link };
}

describe('AuditFeed', () => {
  it('records what the bus announces: connects, publishes, evictions, locks, stream cancels and failures, webhook failures', async () => {
    await using fx = await startNode(CONFIG);
    const { feed } = await startFeed(fx);
    const { link } = await read(fx, feed);
    const { session } = await fx.connect({ sub: 'ann', tenant: 'acme' });
    await fx.node.publish('acme', { channels: ['order:1', 'order:2'], event: 'order:paid', data: {} }, 'api');
    const lock = { tenant: 'acme', channel: 'doc:1', name: 'edit', connectionId: session.id, userId: 'ann' };
    for (const action of ['acquired', 'refreshed', 'released'] as const) fx.node.events.emit('lock', { action, ...lock });
    const stream = { tenant: 'acme', channel: 'proposal:1', streamId: 's1' };
    for (const action of ['opened', 'cancelled', 'failed', 'completed'] as const) fx.node.events.emit('stream', { action, ...stream, ...(action === 'cancelled' ? { userId: 'ann' } : {}) });
    fx.node.events.emit('webhook', { action: 'failed', endpoint: 'https://crm.example/hook', type: 'channel.occupied', webhookId: 'w1', status: 500, reason: 'HTTP 500' });
    fx.node.events.emit('webhook', { action: 'dropped', endpoint: 'https://crm.example/hook', type: 'user.online', webhookId: 'w2', reason: 'queue full' });
    session.close(CloseCode.DisconnectedByServer, 'bye');
    await waitFor(() => link.records.some((r) => r.type === 'disconnect'), 'the disconnect record');
    assert.deepEqual(
      link.records.map((r) => [r.type, r.action ?? r.reason ?? r.event ?? r.transport]),
      [
        ['connect', 'test'],
        ['publish', 'order:paid'],
        ['lock', 'acquired'],
        ['lock', 'released'],
        ['stream', 'cancelled'],
        ['stream', 'failed'],
        ['webhook', 'failed'],
        ['webhook', 'dropped'],
        ['eviction', 'bye'],
        ['disconnect', 'test'],
      ],
    );
    assert.deepEqual(link.records[1].channels, ['order:1', 'order:2']);
    assert.deepEqual({ ...link.records[6], at: 0 }, { type: 'webhook', node: fx.node.cluster.nodeId, at: 0, action: 'failed', endpoint: 'https://crm.example/hook', webhookId: 'w1', webhookType: 'channel.occupied', status: 500, reason: 'HTTP 500' });
    assert.ok(link.records.every((r) => r.node === fx.node.cluster.nodeId && typeof r.at === 'number'));
    feed.close();
  });

  it('records a slow consumer\'s close as a slow_consumer denial, then its eviction with 4006', async () => {
    await using fx = await startNode(CONFIG);
    const { feed } = await startFeed(fx);
    const { link } = await read(fx, feed, { filter: { types: ['denial', 'eviction'], user: 'slow' } });
    const { session } = await fx.connect({ sub: 'slow', tenant: 'acme' }, { link: new RecordingLink(1) });
    await subscribe(session, 'news');
    for (let i = 0; i < 3; i++) await fx.node.publish('acme', { channels: ['news'], event: 'e', data: i }, 'api');
    await waitFor(() => link.records.length === 2, 'the denial and the eviction');
    assert.deepEqual(link.records.map((r) => [r.type, r.reason, r.code]), [['denial', 'slow_consumer', undefined], ['eviction', 'slow consumer: send queue full', CloseCode.SlowConsumer]]);
    feed.close();
  });

  it('stores a turn\'s records with one engine call, and its own publications announce nothing', async () => {
    const engine: Engine = createMemoryEngine();
    const calls: number[] = [];
    const publishMany = engine.broker.publishMany.bind(engine.broker);
    engine.broker.publishMany = (items) => {
      if (items.every((i) => i.key === AUDIT_KEY)) calls.push(items.length);
      return publishMany(items);
    };
    await using fx = await startNode(CONFIG, engine);
    const { feed } = await startFeed(fx);
    for (let i = 0; i < 50; i++) fx.node.events.emit('denial', { reason: 'unauthorized', transport: 'test', detail: `try ${i}` });
    await feed.flushed();
    assert.deepEqual(calls, [50]);
    assert.deepEqual(fx.eventsOf('publish'), [], 'no publish event for the records');
    const page = await fx.node.history(AUDIT_KEY, {});
    assert.deepEqual(page.publications.map((p) => (p.data as AuditRecord).detail), Array.from({ length: 50 }, (_, i) => `try ${i}`));
    feed.close();
  });

  it('drops and counts what comes past maxQueuedRecords while the engine holds a batch', async () => {
    const engine: Engine = createMemoryEngine();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const publishMany = engine.broker.publishMany.bind(engine.broker);
    engine.broker.publishMany = async (items) => {
      if (items.every((i) => i.key === AUDIT_KEY)) await held;
      return publishMany(items);
    };
    await using fx = await startNode({ ...CONFIG, audit: { ...CONFIG.audit, maxQueuedRecords: 100 } }, engine);
    const { feed, metrics } = await startFeed(fx);
    fx.node.events.emit('denial', { reason: 'origin', transport: 'test' });
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 130; i++) fx.node.events.emit('denial', { reason: 'origin', transport: 'test' });
    assert.deepEqual((await metrics.dropped.get()).values.map((v) => [v.labels.reason, v.value]), [['queue_full', 30]]);
    release();
    await feed.flushed();
    assert.equal((await fx.node.history(AUDIT_KEY, {})).publications.length, 101);
    feed.close();
  });

  it('keeps the last `audit.history.size` records whatever the channel rules say', async () => {
    await using fx = await startNode({ ...CONFIG, audit: { ...CONFIG.audit, history: { size: 3 } }, channels: { rules: [] } });
    const { feed } = await startFeed(fx);
    for (let i = 0; i < 5; i++) fx.node.events.emit('denial', { reason: 'origin', transport: 'test', detail: `${i}` });
    await feed.flushed();
    const { link } = await read(fx, feed);
    assert.deepEqual(link.records.map((r) => r.detail), ['2', '3', '4']);
    feed.close();
  });

  it('closes a reader that cannot keep up with 4006, announces it and counts it', async () => {
    await using fx = await startNode(CONFIG);
    const { feed, metrics } = await startFeed(fx);
    const { link } = await read(fx, feed, { queueLimit: 2 });
    for (let i = 0; i < 5; i++) fx.node.events.emit('denial', { reason: 'origin', transport: 'test' });
    await waitFor(() => link.closedWith, 'the slow reader closed');
    assert.equal(link.closedWith?.code, CloseCode.SlowConsumer);
    assert.equal(feed.readers.size, 0);
    assert.equal((await metrics.slowReaders.get()).values[0].value, 1);
    assert.equal((await metrics.readers.get()).values[0].value, 0);
    assert.deepEqual(fx.eventsOf('denial').filter((d) => d.reason === 'slow_consumer').map((d) => [d.tenant, d.userId]), [['ops', 'root']]);
    feed.close();
  });

  it('closes a reader whose token expired with 4002', async () => {
    await using fx = await startNode({ ...CONFIG, auth: { jwt: { clockTolerance: 0 } } });
    const { feed } = await startFeed(fx);
    const { link } = await read(fx, feed, { ttlSeconds: 1 });
    await waitFor(() => link.closedWith, 'the expired reader closed', 4000);
    assert.equal(link.closedWith?.code, CloseCode.TokenExpired);
    feed.close();
  });

  it('refuses a token without the admin role, and a tenant admin asking for another tenant', async () => {
    await using fx = await startNode(CONFIG);
    const { feed } = await startFeed(fx);
    const agent = await fx.node.handshake.verify(await fx.token({ sub: 'ann', tenant: 'ops', roles: ['agent'] }));
    const where = { transport: 'test', path: '/ws/audit' };
    assert.throws(() => feed.scopeOf(agent, {}, where), /for the admin role/);
    const acme = await fx.node.handshake.verify(await fx.token({ sub: 'boss', tenant: 'acme', roles: ['admin'] }));
    assert.equal(feed.scopeOf(acme, { tenant: 'acme' }, where), 'acme');
    assert.throws(() => feed.scopeOf(acme, { tenant: 'globex' }, where), /sees only that tenant/);
    assert.equal(feed.scopeOf(await fx.node.handshake.verify(await fx.token({ sub: 'root', tenant: 'ops', roles: ['admin'] })), { tenant: 'globex' }, where), undefined);
    assert.deepEqual(fx.eventsOf('denial').map((d) => [d.reason, d.userId]), [['subscribe_forbidden', 'ann'], ['subscribe_forbidden', 'boss']]);
    feed.close();
  });

  it('gives a reader on one node the records of another, and repairs from history what an interruption kept from it', async () => {
    await using cluster = await startCluster(CONFIG, 2);
    const [a, b] = cluster.nodes;
    const feeds = [await startFeed(a), await startFeed(b)].map((f) => f.feed);
    const { link } = await read(b, feeds[1], { filter: { types: ['denial'] } });
    a.node.events.emit('denial', { reason: 'origin', transport: 'test', detail: 'on a' });
    await waitFor(() => link.records.length === 1, 'the record of node a');
    assert.equal(link.records[0].node, a.node.cluster.nodeId);
    cluster.engines[1].interrupt();
    a.node.events.emit('denial', { reason: 'origin', transport: 'test', detail: 'while cut off' });
    await feeds[0].flushed();
    cluster.engines[1].resume();
    await waitFor(() => link.records.length === 2, 'the repaired record');
    assert.equal(link.records[1].detail, 'while cut off');
    for (const feed of feeds) feed.close();
  });
});
