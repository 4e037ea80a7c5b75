import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { io, type ManagerOptions } from 'socket.io-client';
import { nextEvent } from '../support/socket-events.js';
import { startProfile } from '../support/profile-server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';

/** docs/client.md's options for stock socket.io-client, every delay divided by SCALE so the run is short. */
const SCALE = 20;
const seed003: Partial<ManagerOptions> = { reconnectionDelay: 3000 / SCALE, reconnectionDelayMax: 30_000 / SCALE, randomizationFactor: 0 };
const seed000: Partial<ManagerOptions> = { ...seed003, reconnectionDelay: 1000 / SCALE, reconnectionAttempts: 5 };

/**
 * Cuts a connected stock socket.io-client off behind a proxy that then refuses every connection,
 * and measures each delay: from the drop (or the previous failed attempt) to the next attempt.
 */
async function measureDelays(options: Partial<ManagerOptions>, attempts: number) {
  await using server = await startProfile('rental-dashboard');
  await using proxy = await startTcpProxy(server.url);
  const socket = io(`${proxy.url}/ws/dashboard`, {
    auth: { token: await server.token({ sub: 'm1', tenantId: 'acme', role: 'STORE_MANAGER' }) },
    transports: ['websocket'],
    ...options,
  });
  try {
    await nextEvent(socket, 'connected');
    const times: number[] = [];
    let failed = false;
    socket.io.on('reconnect_attempt', () => times.push(performance.now()));
    socket.io.on('reconnect_error', () => times.push(performance.now()));
    socket.io.on('reconnect_failed', () => (failed = true));
    socket.on('disconnect', () => times.push(performance.now()));
    proxy.refuse();
    proxy.cut();
    // times: drop, then (attempt, failure) per attempt.
    await waitFor(() => times.length >= 1 + 2 * attempts, `${attempts} reconnect attempts`, 60_000);
    const delays: number[] = [];
    for (let n = 0; n < attempts; n++) delays.push((times[1 + 2 * n] - times[2 * n]) * SCALE);
    return { delays, failed: () => failed };
  } finally {
    socket.close();
  }
}

/**
 * Each measured delay (scaled back) is the documented one: never early, and late by less than
 * the gap to the next step of the schedule (a late timer on a busy machine is not a failure).
 */
function assertSchedule(delays: number[], expected: number[]) {
  for (let i = 0; i < expected.length; i++) {
    const slack = Math.max(expected[i] * 0.15, 2000);
    assert.ok(delays[i] >= expected[i] - 5 * SCALE && delays[i] <= expected[i] + slack, `attempt ${i + 1}: ${Math.round(delays[i])} ms, expected ${expected[i]} (all: ${delays.map(Math.round)})`);
  }
}

describe('stock socket.io-client with the documented reconnect options', () => {
  it('seed 003: waits 3, 6, 12, 24 s, then 30 s each time, and keeps trying', async () => {
    const { delays, failed } = await measureDelays(seed003, 7);
    assertSchedule(delays, [3000, 6000, 12_000, 24_000, 30_000, 30_000, 30_000]);
    assert.equal(failed(), false);
  });

  it('seed 000: waits 1, 2, 4, 8, 16 s, then gives up after the 5th attempt', async () => {
    const { delays, failed } = await measureDelays(seed000, 5);
    assertSchedule(delays, [1000, 2000, 4000, 8000, 16_000]);
    await waitFor(failed, 'reconnect_failed after 5 attempts');
  });
});
