import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClient } from '@herald/server/testing';
import { WebSocket } from 'ws';
import { readmeCommands, shell, type Shell } from '../support/readme-commands.js';
import { PROFILE_WEBHOOK, startProfile, type ProfileServer } from '../support/profile-server.js';
import { sleep, waitFor } from '../support/wait.js';

const webhook = { authorization: `Bearer ${PROFILE_WEBHOOK}` };

function taskUpdated(revision: number, eventType = 'TASK_UPDATED') {
  return { event_type: eventType, entity_id: 'task-17', revision, payload: { title: `rev ${revision}` } };
}

async function publish(server: ProfileServer, household: string, message: ReturnType<typeof taskUpdated>) {
  const r = await server.post('/api/v1/publish', { tenant: household, channel: 'tasks', event: message.event_type, data: message }, webhook);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/**
 * A HomePlanner client written from seed 004's document alone: `/api/v0.2/tasks/stream?token=`,
 * `HELLO` with its current `revision`, messages `{event_type, entity_id, revision, payload}`,
 * heartbeat answered. Frames it sends beyond that come from the profile's README.
 */
class SeedClient {
  readonly messages: Record<string, any>[] = [];
  readonly replies: Record<string, any>[] = [];
  revision = 0;
  private readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(base: string, token: string) {
    this.ws = new WebSocket(`${base.replace('http', 'ws')}/api/v0.2/tasks/stream?token=${token}`);
    this.opened = new Promise((resolve) => this.ws.once('open', () => resolve()));
    this.ws.on('open', () => this.send({ type: 'HELLO', revision: this.revision }));
    this.ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'ping') return this.send({ type: 'pong' });
      if (message.type === 'reply') return void this.replies.push(message);
      if (typeof message.event_type !== 'string') return;
      this.messages.push(message);
      if (typeof message.revision === 'number') this.revision = Math.max(this.revision, message.revision);
    });
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  reply(id: number): Promise<Record<string, any>> {
    return waitFor(() => this.replies.find((r) => r.id === id), `reply ${id}`);
  }

  close(): void {
    this.ws.terminate();
  }
}

describe('profile: homeplanner (seed 004)', () => {
  it("runs from its README: serve, tokens, the seed's client, the publisher, task locks", async () => {
    const readme = readmeCommands('homeplanner');
    const shells: Shell[] = [];
    const clients: SeedClient[] = [];
    try {
      const gateway = shell(readme.serve.replace(/^PORT=5009 /, 'PORT=0 '));
      shells.push(gateway);
      const base = await waitFor(() => /Herald listening on (http:\/\/\S+)/.exec(gateway.output())?.[1], `homeplanner to start:\n${gateway.output()}`, 20_000);
      const mint = async (command: string) => {
        const run = shell(command);
        shells.push(run);
        assert.equal(await run.exited, 0, run.output());
        return run.output().trim();
      };
      assert.match(readme.tokenCommand, /--sub bob/);
      const bob = new SeedClient(base, await mint(readme.tokenCommand));
      const anna = new SeedClient(base, await mint(readme.tokenCommand.replace('--sub bob', '--sub anna')));
      clients.push(bob, anna);
      await Promise.all([bob.opened, anna.opened]);
      await sleep(200);

      const publisher = shell(readme.publish.replaceAll('PORT=5009', `PORT=${new URL(base).port}`));
      shells.push(publisher);
      assert.equal(await publisher.exited, 0, publisher.output());
      await waitFor(() => bob.revision === 1 && anna.revision === 1, 'revision 1 on both streams');
      assert.equal(bob.messages[0].event_type, 'TASK_UPDATED');

      // The README's lock frame, as written.
      const lockFrame = JSON.parse(/```json\n\s*(\{.*\})\n/.exec(readme.text)![1]);
      anna.send(lockFrame);
      assert.equal((await anna.reply(lockFrame.id)).result.acquired, true);
      const taken = await waitFor(() => bob.messages.find((m) => m.event_type === 'LOCK_REFRESHED'), 'the lock on bob\'s stream');
      assert.deepEqual(Object.keys(taken).sort(), ['entity_id', 'event_type', 'payload', 'revision']);
      assert.equal(taken.entity_id, 'task-17');
      assert.equal(taken.revision, 1);
      assert.equal(taken.payload.state, 'acquired');
      assert.equal(taken.payload.user_id, 'anna');
      assert.match(taken.payload.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      bob.send({ ...lockFrame, id: 7 });
      const refused = await bob.reply(7);
      assert.equal(refused.result.acquired, false);
      assert.equal(refused.result.holder.userId, 'anna');
      assert.equal(bob.revision, 1);

      anna.close();
      const released = await waitFor(() => bob.messages.find((m) => m.payload?.state === 'released'), 'the release on bob\'s stream');
      assert.deepEqual(released, { event_type: 'LOCK_REFRESHED', entity_id: 'task-17', revision: 1, payload: { state: 'released', user_id: 'anna', reason: 'disconnected' } });
    } finally {
      for (const c of clients) c.close();
      for (const s of shells.reverse()) s.stop();
      await Promise.all(shells.map((s) => Promise.race([s.exited, sleep(5000)])));
    }
  });

  it('sends what came after the HELLO revision, then live messages, per household', async () => {
    await using server = await startProfile('homeplanner');
    for (const rev of [1, 2, 3]) await publish(server, 'h1', taskUpdated(rev));
    await publish(server, 'h2', taskUpdated(99));
    const url = `${server.url.replace('http', 'ws')}/api/v0.2/tasks/stream?token=${await server.token({ sub: 'anna', household: 'h1' })}`;
    const client = new TestClient(url);
    await client.opened();
    await sleep(100);
    assert.equal(client.frames.length, 0, 'nothing before HELLO');
    client.send({ type: 'HELLO', revision: 1 });
    await client.next((f) => f.revision === 3);
    await publish(server, 'h1', taskUpdated(4, 'REMINDER_DUE'));
    await publish(server, 'h1', taskUpdated(5, 'LOCK_REFRESHED'));
    await client.next((f) => f.revision === 5);
    assert.deepEqual(client.frames.map((f) => [f.event_type, f.revision]), [
      ['TASK_UPDATED', 2],
      ['TASK_UPDATED', 3],
      ['REMINDER_DUE', 4],
      ['LOCK_REFRESHED', 5],
    ]);
    client.close();
  });

  it('answers a bad HELLO clearly and starts from now when none comes', async () => {
    await using server = await startProfile('homeplanner');
    const url = `${server.url.replace('http', 'ws')}/api/v0.2/tasks/stream?token=${await server.token({ sub: 'anna', household: 'h1' })}`;
    const client = new TestClient(url);
    await client.opened();
    client.send({ type: 'HELLO', revision: 'latest' });
    const error = await client.next((f) => f.type === 'error');
    assert.equal(error.field, 'revision');
    client.send({ type: 'HELLO', revision: 0 });
    await sleep(100);
    await publish(server, 'h1', taskUpdated(1));
    assert.equal((await client.next((f) => f.revision === 1)).event_type, 'TASK_UPDATED');
    client.close();
  });

  it('refuses a missing token with 4001', async () => {
    await using server = await startProfile('homeplanner');
    const client = new TestClient(`${server.url.replace('http', 'ws')}/api/v0.2/tasks/stream`);
    await client.opened();
    client.send({ type: 'HELLO', revision: 0 });
    assert.equal((await client.closed).code, 4001);
  });
});
