import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Stalled pairs forward nothing and stay open whatever either side does. */
  stalled: boolean;
}

/**
 * A TCP proxy in front of a server that a test controls, to play the network: cut every
 * connection, refuse new ones, or let existing ones go silent without closing.
 *
 * @example
 * await using proxy = await startTcpProxy(herald.url);
 * proxy.cut(); proxy.refuse(); … proxy.accept();
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private refusing = false;
  /** Armed by cutWhenServerSends: the text whose arrival from the server cuts that connection. */
  private cutMarker: { text: string; done: () => void } | undefined;

  private constructor(private readonly server: Server, private targetPort: number, private targetHost: string) {
    server.on('connection', (client) => this.serverOnConnection(client));
  }

  static async start(target: string): Promise<TcpProxy> {
    const url = new URL(target);
    const server = createServer();
    const proxy = new TcpProxy(server, Number(url.port), url.hostname);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `ws://127.0.0.1:PORT` */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Connections currently open through the proxy. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Destroys every open connection, both sides, as a network failure would. */
  cut(): void {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  /**
   * Destroys the one connection whose client side uses local port `clientPort` (the port the
   * client sees as its own), both sides. Returns whether there was one.
   */
  cutClient(clientPort: number): boolean {
    for (const pair of this.pairs) {
      if (pair.client.remotePort !== clientPort) continue;
      this.pairs.delete(pair);
      pair.client.destroy();
      pair.upstream.destroy();
      return true;
    }
    return false;
  }

  /** Destroys each open connection with probability `fraction` (`random()` in [0, 1)); returns how many. */
  cutSome(fraction: number, random: () => number = Math.random): number {
    let cut = 0;
    for (const pair of [...this.pairs]) {
      if (pair.stalled || random() >= fraction) continue;
      this.pairs.delete(pair);
      pair.client.destroy();
      pair.upstream.destroy();
      cut += 1;
    }
    return cut;
  }

  /** New connections are dropped as soon as they arrive. */
  refuse(): void {
    this.refusing = true;
  }

  /** New connections are forwarded again. */
  accept(): void {
    this.refusing = false;
  }

  /**
   * New connections go to another server; open ones stay where they are. A load balancer whose
   * backend died: clients that reconnect to the same address land on a surviving node.
   */
  retarget(target: string): void {
    const url = new URL(target);
    this.targetPort = Number(url.port);
    this.targetHost = url.hostname;
  }

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Existing connections stop forwarding, in both directions, but stay open: a silent link.
   * `direction: 'down'` stops only server-to-client traffic. New connections are unaffected.
   */
  stall(direction: 'both' | 'down' = 'both'): void {
    for (const pair of this.pairs) {
      pair.stalled = true;
      pair.upstream.unpipe(pair.client);
      pair.upstream.pause();
      if (direction === 'both') {
        pair.client.unpipe(pair.upstream);
        pair.client.pause();
      }
    }
  }

  /**
   * The clients' network goes away: their side of every open connection closes, while the
   * server's side stays open and hears nothing more, as when Wi-Fi drops without a goodbye.
   */
  dropClients(): void {
    for (const pair of this.pairs) {
      pair.stalled = true;
      pair.upstream.unpipe(pair.client);
      pair.client.unpipe(pair.upstream);
      pair.upstream.pause();
      pair.client.destroy();
    }
  }

  /**
   * The next time the server sends `text` on any connection, that connection is cut on the spot,
   * before the client reads it: a network that fails at an exact moment of a protocol.
   * Resolves when it happened.
   */
  cutWhenServerSends(text: string): Promise<void> {
    return new Promise((resolve) => (this.cutMarker = { text, done: resolve }));
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private serverOnConnection(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    const pair: Pair = { client, upstream, stalled: false };
    this.pairs.add(pair);
    const drop = () => {
      if (pair.stalled) return;
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      const marker = this.cutMarker;
      if (!marker || !chunk.toString('latin1').includes(marker.text)) return;
      this.cutMarker = undefined;
      pair.client.destroy();
      pair.upstream.destroy();
      marker.done();
    });
    upstream.pipe(client);
  }
}

export function startTcpProxy(target: string): Promise<TcpProxy> {
  return TcpProxy.start(target);
}
