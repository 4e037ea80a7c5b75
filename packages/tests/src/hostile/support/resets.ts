import { setTimeout as sleep } from 'node:timers/promises';
import { RawSocket } from './raw-socket.js';

/** When a hostile client resets, relative to what it sent. */
export type ResetTiming = 'at once' | 'next turn' | 'after 2 ms' | 'after an answer';

export const RESET_TIMINGS: readonly ResetTiming[] = ['at once', 'next turn', 'after 2 ms', 'after an answer'];

/**
 * Connects, runs `send` (which may wait for the server, e.g. for a 101), then resets the
 * connection at `timing`. "after an answer" waits up to `answerMs` for any byte from the server.
 */
export async function sendThenReset(url: string, send: (raw: RawSocket) => void | Promise<void>, timing: ResetTiming, answerMs = 300): Promise<void> {
  const raw = await RawSocket.open(url);
  try {
    await send(raw);
    if (timing === 'next turn') await new Promise((resolve) => setImmediate(resolve));
    else if (timing === 'after 2 ms') await sleep(2);
    else if (timing === 'after an answer') await raw.until((r) => r.receivedBytes > 0 || r.isClosed, answerMs, 'an answer').catch(() => undefined);
  } finally {
    raw.reset();
  }
}

/**
 * Runs `hit` `times` times per timing, `parallel` at a time: bounded in count, and quick.
 * Returns how many connections were reset.
 */
export async function resetRepeatedly(times: number, hit: (timing: ResetTiming) => Promise<void>, parallel = 8): Promise<number> {
  const jobs = RESET_TIMINGS.flatMap((timing) => Array.from({ length: times }, () => timing));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await hit(jobs[next++]);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return jobs.length;
}
