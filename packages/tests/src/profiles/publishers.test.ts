import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TestClient } from '@herald/server/testing';
import { io, type Socket } from 'socket.io-client';
import { nextEvent, recordEvents } from '../support/socket-events.js';
import { PROFILE_WEBHOOK, startProfile } from '../support/profile-server.js';
import { readmeCommands, shell } from '../support/readme-commands.js';
import { describeRequiring } from '../support/requires.js';
import { sleep, waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const EXAMPLES = `${ROOT}examples/`;
const PROFILES = ['callcenter', 'scheduling', 'proposals', 'rental-dashboard', 'homeplanner'];

/** Runs an example's publisher script with the given environment; resolves with its exit code and output. */
function runPublisher(profile: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${EXAMPLES}${profile}/publish.mjs`], { env: { PATH: process.env.PATH ?? '', ...env } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('example publishers', () => {
  for (const profile of PROFILES) {
    it(`${profile}: publishes through the profile's API, fails loudly with a wrong token, and says what to set without one`, async () => {
      await using server = await startProfile(profile);
      const port = new URL(server.url).port;
      const ok = await runPublisher(profile, { PORT: port, WEBHOOK_TOKEN: PROFILE_WEBHOOK });
      assert.equal(ok.code, 0, ok.output);
      const refused = await runPublisher(profile, { PORT: port, WEBHOOK_TOKEN: 'not-the-webhook-token' });
      assert.equal(refused.code, 1, refused.output);
      assert.match(refused.output, /401/);
      const unset = await runPublisher(profile, { PORT: port });
      assert.equal(unset.code, 2, unset.output);
      assert.match(unset.output, new RegExp(`^WEBHOOK_TOKEN is not set: .*\\n  PORT=5009 WEBHOOK_TOKEN=\\S+ node examples/${profile}/publish\\.mjs`));
    });
  }
});

/** A client of the profile's own transport, connected with the README's token. */
interface NativeClient {
  /** Event names received so far. */
  events(): string[];
  close(): void;
}

const socketClient = async (url: string, token: string, join?: string): Promise<NativeClient & { socket: Socket }> => {
  const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false });
  const seen = recordEvents(socket, ['call:new', 'stock_alert', 'payment_error', 'rental_created']);
  await nextEvent(socket, 'connected', 5000);
  if (join) socket.emit('join-room', { room: join });
  return { socket, events: () => seen.map((e) => e.event), close: () => socket.disconnect() };
};

/** A native WebSocket client: `envelope` counts the events of `pub` frames, `data` the app's own messages (`event_type` or `type`). */
const wsClient = async (url: string, format: 'envelope' | 'data', first?: (client: TestClient) => Promise<void>): Promise<NativeClient> => {
  const client = new TestClient(url);
  await client.opened();
  await first?.(client);
  const events = () => (format === 'envelope' ? client.pubs().map((f) => f.event) : client.frames.map((f) => f.event_type ?? f.type));
  return { events, close: () => client.close() };
};

interface Flow {
  /** Subscribers per channel (tenant, channel) once the README's listener and the native clients are in. */
  ready: Record<string, number>;
  tenant?: string;
  /** The events the README says the listener shows. */
  sse: string[];
  /** Clients of the profile's transport, connected with the README's token (and `other`, a token the test derives from it). */
  clients: (base: string, token: string, other: (replace: [string, string]) => Promise<string>) => Promise<{ client: NativeClient; expect: string[] }[]>;
  publishOutput?: RegExp;
}

const flows: Record<string, Flow> = {
  callcenter: {
    ready: { operators: 2 },
    sse: ['call:new'],
    publishOutput: /^200 \{"success":true,"event":"call:new",/,
    clients: async (base, token) => [{ client: await socketClient(base, token, 'operators'), expect: ['call:new'] }],
  },
  scheduling: {
    ready: { schedules: 2, 'notifications:alice': 2 },
    sse: ['schedule:updated', 'notification:new'],
    clients: async (base, token) => [
      {
        client: await wsClient(`${base.replace('http', 'ws')}/ws`, 'envelope', async (c) => {
          c.send({ type: 'handshake', id: 1, token });
          const ack = await c.next((f) => f.type === 'connected');
          assert.equal(ack.userId, 'alice');
          for (const channel of ['schedules', 'notifications:alice']) assert.ok((await c.request({ type: 'subscribe', channel })).result, channel);
        }),
        expect: ['schedule:updated', 'notification:new'],
      },
    ],
  },
  proposals: {
    ready: { 'proposal:42': 1, 'project:1': 1 },
    sse: ['validation_start', 'output', 'output', 'output', 'validation_complete'],
    clients: async (base, token) => [
      { client: await wsClient(`${base.replace('http', 'ws')}/ws/projects/1?token=${token}`, 'data'), expect: ['validation_start', 'output', 'output', 'output', 'validation_complete'] },
    ],
  },
  'rental-dashboard': {
    ready: { dashboard: 3 },
    tenant: 'acme',
    sse: ['stock_alert', 'payment_error', 'rental_created'],
    clients: async (base, token, other) => [
      { client: await socketClient(`${base}/ws/dashboard`, token), expect: ['stock_alert', 'payment_error', 'rental_created'] },
      { client: await socketClient(`${base}/ws/dashboard`, await other(['--roles STORE_MANAGER', '--roles OPERATOR'])), expect: ['stock_alert'] },
    ],
  },
  homeplanner: {
    ready: { tasks: 2 },
    tenant: 'h1',
    sse: ['TASK_UPDATED'],
    clients: async (base, token) => [
      { client: await wsClient(`${base.replace('http', 'ws')}/api/v0.2/tasks/stream?token=${token}`, 'data', async (c) => c.send({ type: 'HELLO', revision: 0 })), expect: ['TASK_UPDATED'] },
    ],
  },
};

const curl = spawnSync('curl', ['--version']).error ? 'curl is not installed (the example READMEs use it to listen)' : undefined;

describeRequiring("example READMEs, run as written (serve, token, listen, publish)", curl, () => {
  for (const profile of PROFILES) {
    it(profile, async () => {
      const flow = flows[profile];
      const readme = readmeCommands(profile);
      // Every mention of the publisher says what it needs.
      for (const m of readme.text.matchAll(new RegExp(`(\\S+ )?(\\S+ )?node examples/${profile}/publish\\.mjs`, 'g'))) {
        assert.match(m[0], /^`?PORT=5009 WEBHOOK_TOKEN=\S+ node /, `${profile}/README.md: "${m[0]}" does not say what publish.mjs needs`);
      }
      assert.match(readme.serve, /^PORT=5009 /, 'the serve line sets PORT=5009, which the test changes to a free port');
      const gateway = shell(readme.serve.replace(/^PORT=5009 /, 'PORT=0 '));
      const shells = [gateway];
      const clients: NativeClient[] = [];
      try {
        const base = await waitFor(() => /Herald listening on (http:\/\/\S+)/.exec(gateway.output())?.[1], `${profile} to start:\n${gateway.output()}`, 20_000);
        const port = new URL(base).port;
        const onPort = (line: string) => line.replaceAll('PORT=5009', `PORT=${port}`).replaceAll('127.0.0.1:5009', `127.0.0.1:${port}`);
        const webhook = /WEBHOOK_TOKEN=(\S+)/.exec(readme.serve)![1];

        // The README's token command, as a newcomer runs it: no WEBHOOK_TOKEN in the shell.
        const mint = async (command: string) => {
          const run = shell(command);
          assert.equal(await run.exited, 0, run.output());
          return run.output().trim();
        };
        const token = await mint(readme.tokenCommand);
        assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
        const other = ([from, to]: [string, string]) => {
          assert.ok(readme.tokenCommand.includes(from));
          return mint(readme.tokenCommand.replace(from, to));
        };

        const listener = shell(onPort(readme.listen));
        shells.push(listener);
        const expects: { client: NativeClient; expect: string[] }[] = await flow.clients(base, token, other);
        clients.push(...expects.map((e) => e.client));
        await waitFor(async () => {
          const stats = (await (await fetch(`${base}/api/v1/stats/rooms`, { headers: { authorization: `Bearer ${webhook}` } })).json()) as { rooms: { tenant: string; channel: string; subscribers: number }[] };
          return Object.entries(flow.ready).every(([channel, n]) => stats.rooms.some((r) => r.channel === channel && r.tenant === (flow.tenant ?? 'default') && r.subscribers >= n));
        }, `the listener and clients to subscribe (${JSON.stringify(flow.ready)}); listener: ${listener.output()}`);

        const publisher = shell(onPort(readme.publish));
        shells.push(publisher);
        assert.equal(await publisher.exited, 0, publisher.output());
        if (flow.publishOutput) assert.match(publisher.output(), flow.publishOutput);

        const sseEvents = () => [...listener.output().matchAll(/^event: (.+)$/gm)].map((m) => m[1]).filter((e) => !e.startsWith('herald:') && e !== 'connected');
        await waitFor(() => sseEvents().length >= flow.sse.length, `the README's listener to show ${flow.sse}:\n${listener.output()}`);
        for (const { client, expect } of expects) await waitFor(() => client.events().length >= expect.length, `${expect} on the profile's transport; got ${client.events()}`);
        await sleep(100);
        assert.deepEqual(sseEvents(), flow.sse);
        for (const { client, expect } of expects) assert.deepEqual(client.events(), expect);
      } finally {
        for (const c of clients) c.close();
        for (const s of shells.reverse()) s.stop();
        await Promise.all(shells.map((s) => Promise.race([s.exited, sleep(5000)])));
      }
    });
  }
});
