import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchItem, publishBody } from './publish.js';
import { simplePublishBody } from './publish-body.js';

const ok = { channel: 'orders', event: 'created', data: { id: 1 } };

// Bodies around every condition of the check: each is either accepted by both the check and the
// schema, or left by the check to the schema.
const bodies: unknown[] = [
  ok,
  { channel: 'orders', event: 'e' },
  { ...ok, data: null },
  { ...ok, data: [1, 'two', { three: 3 }] },
  { ...ok, tenant: 'acme' },
  { ...ok, tenant: 'a:b' },
  { ...ok, tenant: '' },
  { ...ok, tenant: null },
  { ...ok, tenant: 'x'.repeat(65) },
  { ...ok, idempotencyKey: 'k' },
  { ...ok, idempotencyKey: '' },
  { ...ok, idempotencyKey: 'k'.repeat(256) },
  { ...ok, idempotencyKey: 'k'.repeat(257) },
  { ...ok, idempotencyKey: 7 },
  { ...ok, token: 'secret' },
  { ...ok, token: 1 },
  { ...ok, channel: '' },
  { ...ok, channel: '$audit' },
  { ...ok, channel: 'a\nb' },
  { ...ok, channel: 'c'.repeat(255) },
  { ...ok, channel: 'c'.repeat(256) },
  { ...ok, channel: 5 },
  { ...ok, event: '' },
  { ...ok, event: 'e'.repeat(128) },
  { ...ok, event: 'e'.repeat(129) },
  { ...ok, event: ['e'] },
  { event: 'e' },
  { channel: 'orders' },
  { ...ok, channels: ['a', 'b'] },
  { ...ok, channel: undefined, channels: ['a'] },
  { ...ok, audience: { roles: ['admin'] } },
  { ...ok, extra: true },
  Object.assign(Object.create({ inherited: 1 }), ok),
  JSON.parse('{"channel":"orders","event":"e","__proto__":{"x":1}}'),
  [ok],
  null,
  'orders',
  undefined,
];

describe('simplePublishBody', () => {
  for (const [schema, allowToken, name] of [
    [publishBody, true, 'publishBody'],
    [batchItem, false, 'batchItem'],
  ] as const) {
    it(`accepts only bodies ${name} accepts, as ${name} gives them`, () => {
      let accepted = 0;
      for (const body of bodies) {
        const fast = simplePublishBody(body, allowToken);
        if (fast === undefined) continue;
        accepted += 1;
        const parsed = schema.safeParse(body);
        assert.ok(parsed.success, `accepted what ${name} refuses: ${JSON.stringify(body)}`);
        assert.deepEqual(fast, parsed.data);
      }
      // The common shapes take the quick way.
      assert.ok(accepted >= 8, `only ${accepted} accepted`);
    });
  }

  it('leaves a body with token to the schema for a batch item, which refuses it', () => {
    assert.equal(simplePublishBody({ ...ok, token: 'secret' }, false), undefined);
    assert.equal(batchItem.safeParse({ ...ok, token: 'secret' }).success, false);
  });

  it('leaves multi-channel and audience publishes to the schema', () => {
    assert.equal(simplePublishBody({ ...ok, channel: undefined, channels: ['a'] }, true), undefined);
    assert.equal(simplePublishBody({ ...ok, audience: { users: ['u'] } }, true), undefined);
  });
});
