import { randomBytes } from 'node:crypto';
import type { ControlCommand } from '../engine.js';
import type { Logger } from '../logger.js';

/** Questions a node can ask every node. */
export type ClusterQuestion =
  | { kind: 'stats'; tenant?: string }
  /** Without a tenant: every tenant's (for an operator). */
  | { kind: 'connections'; tenant?: string; userId?: string }
  | { kind: 'locks'; tenant?: string }
  | { kind: 'streams'; tenant?: string }
  | { kind: 'subscribers'; tenant: string; channel: string }
  | { kind: 'signals'; tenant: string; channel: string };

/** One node's answer, with the node's id. */
export interface NodeAnswer<T> {
  node: string;
  answer: T;
  /** Milliseconds from the question going out to this answer coming back: a round trip through the engine. */
  ms: number;
}

/** Every answer that came in time, and whether every node answered. */
export interface ClusterAnswers<T> {
  answers: NodeAnswer<T>[];
  /** How many nodes were listening when the question went out. */
  nodes: number;
  complete: boolean;
}

/** What cluster requests travel on: the engine's control channel, through the node. */
export interface ControlBus {
  publishControl(command: ControlCommand): Promise<void>;
  nodeCount(): Promise<number>;
}

interface Pending {
  expected: number;
  askedAt: number;
  answers: NodeAnswer<unknown>[];
  done(): void;
}

/** Answers in flight at once; past it a question is refused rather than held. */
const MAX_PENDING = 1000;

/**
 * Cluster-wide requests over the engine's control channel, as socket.io's ClusterAdapter does:
 * a question goes to every node (this one too), each answers on the same channel, and the asker
 * gathers the answers until every listening node has answered or the timeout passes.
 *
 * @example
 * const { answers, complete } = await cluster.ask({ kind: 'stats' }, 1000);
 */
export class ClusterRequests {
  readonly nodeId = randomBytes(6).toString('base64url');
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly bus: ControlBus,
    private readonly answer: (question: ClusterQuestion) => unknown,
    private readonly logger: Logger,
  ) {}

  async ask<T>(question: ClusterQuestion, timeoutMs = 1000): Promise<ClusterAnswers<T>> {
    if (this.pending.size >= MAX_PENDING) throw new Error('too many cluster requests in flight');
    const expected = await this.bus.nodeCount();
    const id = randomBytes(8).toString('base64url');
    const answers: NodeAnswer<unknown>[] = [];
    const askedAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise<void>((resolve) => {
      this.pending.set(id, { expected, answers, askedAt, done: resolve });
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await this.bus.publishControl({ kind: 'request', id, from: this.nodeId, question });
      await settled;
    } finally {
      clearTimeout(timer);
      this.pending.delete(id);
    }
    return { answers: answers as NodeAnswer<T>[], nodes: expected, complete: answers.length >= expected };
  }

  /** Handles a control command if it is a request or an answer; false for anything else. */
  onControl(command: ControlCommand): boolean {
    if (command.kind === 'request') {
      let answer: unknown;
      try {
        answer = this.answer(command.question as ClusterQuestion);
      } catch (err) {
        this.logger.warn({ err }, 'cluster request not answered');
        return true;
      }
      this.bus.publishControl({ kind: 'answer', id: command.id, to: command.from, from: this.nodeId, answer }).catch((err) => this.logger.warn({ err }, 'cluster answer not sent'));
      return true;
    }
    if (command.kind === 'answer') {
      if (command.to !== this.nodeId) return true;
      const pending = this.pending.get(command.id);
      if (!pending || pending.answers.some((a) => a.node === command.from)) return true;
      pending.answers.push({ node: command.from, answer: command.answer, ms: performance.now() - pending.askedAt });
      if (pending.answers.length >= pending.expected) pending.done();
      return true;
    }
    return false;
  }
}
