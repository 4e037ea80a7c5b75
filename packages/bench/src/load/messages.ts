// Messages between the orchestrator and load workers (over the IPC channel).
import type { ClientPlan } from '../plan.js';

export type ToWorker =
  | {
      type: 'connect';
      plan: ClientPlan;
      /** Global index of the first client; client i joins room i % rooms. */
      first: number;
      count: number;
      rooms: number;
      /** Handshakes in flight at once. */
      concurrency: number;
      /** Local addresses to spread connections over (more ephemeral ports); empty: the kernel's choice. */
      localAddresses: string[];
      /** Resuming clients, dropped and brought back by the worker's jitter. */
      resuming: boolean;
    }
  | { type: 'begin'; step: number }
  /**
   * Sets the jitter (see Jitter). Turning it off (`upMs` 0) answers once every client is back up,
   * or after `timeoutMs`.
   */
  | { type: 'jitter'; upMs: number; downMs: number; timeoutMs: number }
  | {
      type: 'drain';
      step: number;
      /** Publications sent per room during the step. */
      sent: number[];
      timeoutMs: number;
    }
  /** Answers once no publication has arrived for `quietMs` (or after `timeoutMs`): an overloaded step's backlog is gone. */
  | { type: 'settle'; quietMs: number; timeoutMs: number }
  | { type: 'close' };

/** A request as sent: every request gets exactly one answer with the same id. */
export type Request = ToWorker & { id: number };

export interface ConnectResult {
  open: number;
  failed: number;
  /** The first few distinct failure reasons. */
  errors: string[];
}

export interface StepStats {
  received: number;
  unique: number;
  duplicates: number;
  outOfOrder: number;
  lost: number;
  stale: number;
  /** Clients whose connection ended since they connected. */
  disconnected: number;
  /** Connections reopened after a drop (jitter). */
  reconnects: number;
  latency: { counts: number[]; max: number }[];
  /** Latency of what arrived on a reopened connection but was sent before it (jitter). */
  replay: { counts: number[]; max: number };
}

export type FromWorker =
  | ({ type: 'connected'; id: number } & ConnectResult)
  | { type: 'begun'; id: number }
  /** `down`: clients still not back up when the jitter was turned off. */
  | { type: 'jittered'; id: number; down: number }
  | { type: 'drained'; id: number; stats: StepStats }
  | { type: 'settled'; id: number; quiet: boolean }
  | { type: 'closed'; id: number }
  | { type: 'failed'; id: number; message: string };
