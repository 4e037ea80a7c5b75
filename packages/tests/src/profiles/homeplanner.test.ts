import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClient } from '@herald/server/testing';
import { PROFILE_WEBHOOK, startProfile, type ProfileServer } from '../support/profile-server.js';
import { sleep } from '../support/wait.js';

const webhook = { authorization: `Bearer ${PROFILE_WEBHOOK}` };

function taskUpdated(revision: number, eventType = 'TASK_UPDATED') {
  return { event_type: eventType, entity_id: 'task-17', revision, payload: { title: `rev ${revision}` } };
}

async function publish(server: ProfileServer, household: string, message: ReturnType<typeof taskUpdated>) {
  const r = await server.post('/api/v1/publish', { tenant: household, channel: 'tasks', event: message.event_type, data: message }, webhook);
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

describe('profile: homeplanner (seed 004)', () => {
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
