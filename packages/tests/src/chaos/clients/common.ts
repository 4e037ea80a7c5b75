import type { Socket } from 'node:net';
import type { TcpProxy } from '../../support/tcp-proxy.js';
import type { ClientInfo, Ledger } from '../ledger.js';
import type { Random } from '../random.js';

/** What a chaos client needs from the run. */
export interface ClientContext {
  ledger: Ledger;
  /** Its load balancer: the proxy in front of its node, which the run cuts and retargets. */
  proxy: TcpProxy;
  token: string;
  random: Random;
  /** True in inversion windows: a client that sees a lower id after a higher one on a channel is cut at once. */
  inversionCuts(): boolean;
  /** The run's self-check: the raw WebSocket clients forget their positions, so the run must find silent losses. */
  sabotage?: boolean;
}

export interface ChaosClient {
  readonly info: ClientInfo;
  /** Resolves once every channel was subscribed the first time. */
  readonly ready: Promise<void>;
  /** Up, and subscribed as far as the client knows. */
  connected(): boolean;
  close(): Promise<void>;
}

/** Close codes after which reconnecting with the same token fails the same way (protocol.md). */
export const TERMINAL_CODES = new Set([4001, 4003, 4009]);

/**
 * Watches each channel's ids in arrival order. Arrival follows offsets, and ids are minted by
 * whichever node took the publish: an id below the one before it is a cross-node inversion.
 */
export class InversionWatch {
  private readonly last = new Map<string, string>();
  private lastCutAt = 0;

  /** Whether `id` on `channel` sorts below the id that arrived before it there. */
  observe(channel: string, id: string): boolean {
    const previous = this.last.get(channel);
    this.last.set(channel, id);
    return previous !== undefined && id < previous;
  }

  /**
   * Cuts are spaced so that a client can catch up: after an inversion at most one every 300 ms,
   * early in a burst at most one a second.
   */
  mayCut(now: number, why: 'inversion' | 'burst'): boolean {
    if (now - this.lastCutAt < (why === 'inversion' ? 300 : 1000)) return false;
    this.lastCutAt = now;
    return true;
  }
}

/**
 * In inversion windows, whether to cut a client now, and why:
 * - `inversion`: it just got an id lower than the one before it on the channel (the later offset
 *   with the lower id), so its last id now sorts below one it already has;
 * - `burst`: it just got a publication of a simultaneous burst whose other members are still to
 *   come (one of them maybe with a lower id, at a later offset).
 */
export function cutReason(ctx: ClientContext, clientId: string, watch: InversionWatch, k: string, channel: string | undefined, inverted: boolean): 'inversion' | 'burst' | undefined {
  if (!ctx.inversionCuts()) return undefined;
  const why = inverted ? 'inversion' : ctx.ledger.earlyInBurst(clientId, k, channel) ? 'burst' : undefined;
  return why && watch.mayCut(ctx.ledger.now(), why) ? why : undefined;
}

/**
 * Cuts the client's connection right now, at both ends: the proxy drops its pair, and the
 * client's own socket stops reading, so nothing already on the way is handled after the cut.
 */
export function cutNow(ctx: ClientContext, socket: Socket | undefined): boolean {
  if (!socket || socket.destroyed) return false;
  const port = socket.localPort;
  if (port !== undefined) ctx.proxy.cutClient(port);
  socket.destroy();
  return true;
}

export const jittered = (random: Random, min: number, max: number) => min + Math.floor(random.next() * (max - min));
