import { pino } from 'pino';
import { createAuthenticator, signToken, type TokenClaims } from '../auth/authenticator.js';
import type { HeraldConfig, HeraldConfigInput } from '../config/schema.js';
import type { LifecycleBus, LifecycleEventName, LifecycleEvents } from '../core/events.js';
import { ERRORS, HeraldError, type ErrorKindName } from '../core/errors.js';
import { Node } from '../core/node.js';
import type { Session } from '../core/session.js';
import type { ResumeFrom } from '../core/recovery.js';
import type { SubscribeResult } from '@herald/protocol';
import type { Engine } from '../engine.js';
import { createMemoryEngine, type MemoryEngineOptions } from '../engines/memory.js';
import { testConfig } from './herald-fixture.js';
import { MemoryCluster } from './memory-cluster.js';
import { RecordingLink } from './recording-link.js';

export interface Connection {
  session: Session;
  link: RecordingLink;
}

export interface NodeFixture {
  node: Node;
  config: HeraldConfig;
  /** Every lifecycle event the node announced, in order. */
  events: RecordedEvent[];
  /** The events of one name, in order. */
  eventsOf<K extends LifecycleEventName>(name: K): LifecycleEvents[K][];
  token(claims: TokenClaims, ttlSeconds?: number): Promise<string>;
  /** Authenticates, admits and opens a session on a new RecordingLink, as a transport does, and lets tenant events flow. */
  connect(claims: TokenClaims, options?: { replaces?: string; link?: RecordingLink; ttlSeconds?: number }): Promise<Connection>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type RecordedEvent = { [K in LifecycleEventName]: { name: K; event: LifecycleEvents[K] } }[LifecycleEventName];

const EVENT_NAMES: LifecycleEventName[] = ['connect', 'disconnect', 'subscribe', 'unsubscribe', 'denial', 'publish', 'delivery', 'eviction', 'lock', 'channels'];

/** Records every event of the bus (except `delivery` and `channels`, unless asked). */
export function recordEvents(bus: LifecycleBus, names: LifecycleEventName[] = EVENT_NAMES.filter((n) => n !== 'delivery' && n !== 'channels')): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  for (const name of names) bus.on(name, (event) => events.push({ name, event } as RecordedEvent));
  return events;
}

/**
 * Starts a Node in process, without sockets or HTTP, on `engine` (a new memory engine by
 * default) with the test configuration (see testConfig), for tests of the core's rules.
 *
 * @example
 * await using fx = await startNode({ limits: { connectionsPerUser: 1 } });
 * const { session, link } = await fx.connect({ sub: 'u1' });
 */
export async function startNode(config: HeraldConfigInput = {}, engine: Engine = createMemoryEngine()): Promise<NodeFixture> {
  const final = testConfig(config);
  const node = new Node({ config: final, engine, authenticator: createAuthenticator(final), logger: pino({ level: 'silent' }) });
  const events = recordEvents(node.events);
  await node.start();
  const close = async () => {
    await node.shutdown();
    await node.closeEngine();
  };
  return {
    node,
    config: final,
    events,
    eventsOf: <K extends LifecycleEventName>(name: K) => events.filter((e) => e.name === name).map((e) => e.event as LifecycleEvents[K]),
    token: (claims, ttl = 3600) => signToken(final, claims, ttl),
    async connect(claims, options = {}) {
      const link = options.link ?? new RecordingLink();
      const identity = await node.handshake.authenticate(await signToken(final, claims, options.ttlSeconds ?? 3600), { transport: link.transport });
      const replaces = options.replaces !== undefined ? { replaces: options.replaces } : {};
      await node.handshake.admit(identity, { transport: link.transport, ...replaces });
      const session = await node.handshake.open(identity, link, replaces);
      link.session = session;
      session.ready();
      return { session, link };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Subscribes as a transport does: the reply, then the replay and live publications. */
export async function subscribe(session: Session, channel: string, since?: ResumeFrom): Promise<SubscribeResult> {
  const pending = await session.subscribe(channel, since);
  pending.flush();
  return pending.result;
}

/** For `assert.rejects`: the error is the HeraldError of that kind of the table (see ERRORS). */
export function heraldError(kind: ErrorKindName): (err: unknown) => boolean {
  return (err) => {
    if (err instanceof HeraldError && err.kind === ERRORS[kind]) return true;
    throw new Error(`expected a ${kind} HeraldError, got ${err instanceof HeraldError ? `${err.code}: ${err.message}` : String(err)}`);
  };
}

/**
 * `count` nodes in process, each on its own engine of one MemoryCluster, closed together.
 *
 * @example
 * await using cluster = await startCluster(config);
 * const [a, b] = cluster.nodes;
 */
export async function startCluster(config: HeraldConfigInput = {}, count = 2, options: MemoryEngineOptions = {}) {
  const memory = new MemoryCluster(options);
  const engines = Array.from({ length: count }, () => memory.engine());
  const nodes: NodeFixture[] = [];
  for (const engine of engines) nodes.push(await startNode(config, engine));
  return {
    memory,
    engines,
    nodes,
    async [Symbol.asyncDispose]() {
      for (const n of nodes) await n.close();
    },
  };
}
