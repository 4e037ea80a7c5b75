import { EventEmitter } from 'node:events';
import { EngineUnavailableError, type ChannelKey, type ChannelMessage, type ControlCommand, type Engine, type EngineHandler, type HistoryPage, type HistoryQuery } from '../engine.js';
import { MemoryBroker, MemoryState, memoryEngine, type MemoryEngineOptions, type MemoryNode } from '../engines/memory.js';

/** One node's engine in a MemoryCluster, which a test can cut off the bus and bring back. */
export interface MemoryClusterEngine extends Engine {
  /**
   * Cuts the node off the bus, as a lost pub/sub connection does to the Redis engine: the handler
   * hears `onInterrupted`, messages and commands for the node are dropped, subscribe fails with
   * EngineUnavailableError, `isReady()` is false and the node is not counted. History, presence
   * and locks stay readable (the command connection is another one).
   */
  interrupt(): void;
  /** Puts the node back on the bus with every key it had, then tells the handler `onResumed`. */
  resume(): void;
  /** The keys this node is subscribed to at the engine. */
  readonly subscribed: ReadonlySet<ChannelKey>;
}

type BusEvents = { message: [ChannelMessage]; control: [ControlCommand] };

/** A node on the cluster's bus: delivers only what it subscribed to, and nothing while cut off. */
class BusNode implements MemoryNode {
  readonly subscribed = new Set<ChannelKey>();
  interrupted = false;
  private handler: EngineHandler | undefined;
  private readonly onMessage = (message: ChannelMessage) => {
    if (!this.interrupted && this.subscribed.has(message.key)) this.handler?.onChannelMessage(message);
  };
  private readonly onControl = (command: ControlCommand) => {
    if (!this.interrupted) this.handler?.onControl(command);
  };

  constructor(
    private readonly bus: EventEmitter<BusEvents>,
    private readonly nodes: Set<BusNode>,
  ) {}

  start(handler: EngineHandler): void {
    this.handler = handler;
    this.bus.on('message', this.onMessage);
    this.bus.on('control', this.onControl);
    this.nodes.add(this);
  }

  close(): void {
    this.bus.off('message', this.onMessage);
    this.bus.off('control', this.onControl);
    this.nodes.delete(this);
    this.handler = undefined;
  }

  isReady(): boolean {
    return this.handler !== undefined && !this.interrupted;
  }

  async subscribe(key: ChannelKey): Promise<void> {
    if (this.interrupted) throw new EngineUnavailableError('bus unreachable');
    this.subscribed.add(key);
  }

  async unsubscribe(key: ChannelKey): Promise<void> {
    this.subscribed.delete(key);
  }

  // One hop later, as over a network; setImmediate keeps the order of the calls.
  deliver(message: ChannelMessage): void {
    setImmediate(() => this.bus.emit('message', message));
  }

  control(command: ControlCommand): void {
    setImmediate(() => this.bus.emit('control', command));
  }

  nodeCount(): number {
    let n = 0;
    for (const node of this.nodes) if (!node.interrupted) n += 1;
    return n;
  }

  interrupt(): void {
    if (this.interrupted) return;
    this.interrupted = true;
    this.handler?.onInterrupted?.();
  }

  resume(): void {
    if (!this.interrupted) return;
    this.interrupted = false;
    this.handler?.onResumed?.();
  }
}

/** See Broker; history reads wait while the cluster holds them (see MemoryCluster.holdHistory). */
class ClusterBroker extends MemoryBroker {
  constructor(state: MemoryState, node: MemoryNode, private readonly held: () => Promise<void> | undefined) {
    super(state, node);
  }

  override async history(key: ChannelKey, query: HistoryQuery): Promise<HistoryPage> {
    await this.held();
    return super.history(key, query);
  }
}

/**
 * Several memory engines that act as one cluster in this process: they share one memory state
 * (history, presence, connections, locks, records) and carry messages and commands over one
 * EventEmitter, as socket.io tests its cluster adapter. Each `engine()` is a node; a test can
 * interrupt and resume a node's delivery the way a broker loss looks to the Redis engine.
 *
 * @example
 * const cluster = new MemoryCluster();
 * const a = cluster.engine();
 * const b = cluster.engine();
 * b.interrupt(); // publications on a no longer reach b, until b.resume()
 */
export class MemoryCluster {
  private readonly state: MemoryState;
  private readonly bus = new EventEmitter<BusEvents>();
  private readonly nodes = new Set<BusNode>();
  private historyHeld: Promise<void> | undefined;

  constructor(private readonly options: MemoryEngineOptions = {}) {
    this.state = new MemoryState(options);
    this.bus.setMaxListeners(0);
  }

  /** A new node's engine, not yet started. */
  engine(): MemoryClusterEngine {
    const node = new BusNode(this.bus, this.nodes);
    const broker = new ClusterBroker(this.state, node, () => this.historyHeld);
    const engine = memoryEngine(this.state, node, { name: 'memory-cluster', broker, ...(this.options.sweepIntervalMs ? { sweepIntervalMs: this.options.sweepIntervalMs } : {}) });
    return Object.assign(engine, {
      interrupt: () => node.interrupt(),
      resume: () => node.resume(),
      subscribed: node.subscribed as ReadonlySet<ChannelKey>,
    });
  }

  /** Resolves once every message and command already on the bus has been delivered (or dropped by a cut-off node). */
  settled(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * Holds every history read until the returned function is called, as a slow backend would:
   * live messages overtake the reads meanwhile (e.g. those of a delivery repair).
   */
  holdHistory(): () => void {
    if (this.historyHeld) throw new Error('history reads are held already');
    let release!: () => void;
    this.historyHeld = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.historyHeld = undefined;
      release();
    };
  }

  /** Forgets every channel's stream, as a backend restarted without its data: epochs change. */
  loseHistory(): void {
    this.state.history.clear();
  }
}
