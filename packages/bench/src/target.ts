// A target is a server under test: a peer (plain socket.io, the ws reference) or a Herald variant.
import type { ClientPlan, PublishPlan } from './plan.js';

export interface StartOptions {
  /** Connections the run will open, so that the server may hold them (open-files limit). */
  connections: number;
  /** Write a V8 CPU profile of each server process here. */
  cpuProfileDir?: string;
  /** Publications each channel keeps for resuming clients (Herald targets); none when unset. */
  history?: number;
}

export interface RunningTarget {
  url: string;
  /** Server processes: their CPU time and memory are the measurement. */
  pids: number[];
  /** Helper processes measured apart (e.g. Redis). */
  helperPids: number[];
  /** How bench clients connect and join rooms. */
  clients: ClientPlan;
  /** Where and how publications are posted. */
  publish: PublishPlan;
  stop(): Promise<void>;
}

export interface Target {
  name: string;
  /** Peers are what every target is compared with. */
  peer: boolean;
  /** Server nodes; in quick runs multi-node targets run only the workloads that name them. */
  nodes: number;
  /** Runs only in the workloads that name it (a comparison made for one question). */
  onlyNamed?: boolean;
  description: string;
  start(options: StartOptions): Promise<RunningTarget>;
}

/** Thrown by `start` when a target cannot run here (not built, transport not served yet, no Redis). */
export class TargetUnavailable extends Error {
  override readonly name = 'TargetUnavailable';
}

/** The core servers are pinned to; the load generator runs on the other one. */
export const SERVER_CORE = 0;
export const GENERATOR_CORE = 1;
