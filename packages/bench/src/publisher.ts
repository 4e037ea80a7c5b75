// Publishes at a fixed rate through a target's HTTP API, each publication stamped with its
// step, its room's sequence number and its send time.
import { HttpPipeline } from './clients/http-pipeline.js';
import { makeData, nowMicros } from './payload.js';
import { roomName, type PublishPlan } from './plan.js';

/** Requests awaiting an answer at most; beyond this the publisher falls behind instead of queueing without bound. */
const MAX_IN_FLIGHT = 2000;
const TICK_MS = 1;

export interface PublishRun {
  step: number;
  /** Publications per second, over all rooms (round-robin). */
  rate: number;
  seconds: number;
  rooms: number;
  payloadBytes: number;
  /** Publications per HTTP request; 1 uses the single publish endpoint. */
  batch: number;
}

export interface PublishResult {
  /** Publications per room, acknowledged or not: what clients should receive. */
  sent: number[];
  /** Publications the server acknowledged. */
  acknowledged: number;
  requests: number;
  failedRequests: number;
  firstError?: string;
  /** Publications due by the end that could not be sent (too many requests in flight). */
  behind: number;
  /** Acknowledged publications per second of the run. */
  achievedRate: number;
}

export async function publishAtRate(plan: PublishPlan, run: PublishRun): Promise<PublishResult> {
  const pipeline = new HttpPipeline(plan.host, plan.port, plan.headers);
  await pipeline.connected;
  const sent = new Array<number>(run.rooms).fill(0);
  const result: PublishResult = { sent, acknowledged: 0, requests: 0, failedRequests: 0, behind: 0, achievedRate: 0 };
  const batch = Math.max(1, run.batch);
  const path = batch > 1 ? plan.batchPath : plan.path;
  let next = 0;

  const body = (): string => {
    const items: string[] = [];
    const sentAt = nowMicros();
    for (let i = 0; i < batch; i++) {
      const room = next++ % run.rooms;
      items.push(`{"channel":"${roomName(room)}","event":"e","data":${makeData(run.step, sent[room]++, sentAt, run.payloadBytes)}}`);
    }
    return batch > 1 ? `{"publications":[${items.join(',')}]}` : items[0];
  };

  return new Promise((resolve) => {
    let stopped = false;
    const finish = () => {
      if (!stopped || pipeline.inFlight > 0) return;
      pipeline.close();
      result.achievedRate = result.acknowledged / run.seconds;
      resolve(result);
    };
    const answer = (status: number, error?: string) => {
      if (status >= 200 && status < 300) result.acknowledged += batch;
      else {
        result.failedRequests++;
        result.firstError ??= error ?? `HTTP ${status} from ${path}`;
      }
      finish();
    };
    const start = performance.now();
    const timer = setInterval(() => {
      const elapsed = Math.min(run.seconds, (performance.now() - start) / 1000);
      const due = Math.floor((elapsed * run.rate) / batch) - result.requests;
      let issued = 0;
      while (issued < due && pipeline.inFlight < MAX_IN_FLIGHT) {
        pipeline.post(path, body(), answer);
        result.requests++;
        issued++;
      }
      pipeline.flush();
      if (elapsed >= run.seconds) {
        clearInterval(timer);
        stopped = true;
        result.behind = Math.max(0, due - issued) * batch;
        // A server that stops answering must not hang the run.
        setTimeout(() => pipeline.close(), 10_000).unref();
        finish();
      }
    }, TICK_MS);
  });
}
