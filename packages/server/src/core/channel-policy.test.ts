import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identity } from '../auth/identity.js';
import { parseConfig } from '../config/load.js';
import type { HeraldConfigInput } from '../config/schema.js';
import { ChannelPolicy, compilePattern } from './channel-policy.js';

function policy(channels: HeraldConfigInput['channels']): ChannelPolicy {
  return new ChannelPolicy(parseConfig({ auth: { jwt: { secret: 'x' } }, channels }));
}

function who(userId: string, roles: string[] = [], channels: string[] = []): Identity {
  return { userId, tenant: 'default', roles, info: {}, channels };
}

// Seed 001's rooms, as a configuration would write them.
const crm = policy({
  rules: [
    { pattern: 'operators', subscribe: { roles: ['operator', 'director'] } },
    { pattern: 'directors', subscribe: { roles: ['director'] }, publish: { roles: ['director'] } },
    { pattern: 'city:*', subscribe: 'all', history: { size: 10 } },
    { pattern: 'operator:{userId}', subscribe: 'owner', publish: 'owner' },
    { pattern: 'order:{id}', subscribe: { roles: ['operator'], users: ['auditor'] }, eventRoles: { 'order:price': ['director'] } },
    { pattern: 'lobby', subscribe: 'all', publish: 'all' },
    { pattern: 'closed', subscribe: 'none' },
  ],
});

describe('compilePattern', () => {
  it('matches literals exactly, escaping regex characters', () => {
    const { regex } = compilePattern('a.b(c)');
    assert.ok(regex.test('a.b(c)'));
    assert.ok(!regex.test('axb(c)'));
    assert.ok(!regex.test('a.b(c)x'));
  });

  it('lets * match any rest, including colons and nothing', () => {
    const { regex } = compilePattern('city:*');
    for (const name of ['city:', 'city:Саратов', 'city:a:b']) assert.ok(regex.test(name), name);
    assert.ok(!regex.test('town:x'));
  });

  it('lets {name} match one segment without a colon and captures it', () => {
    const { regex, names } = compilePattern('order:{id}:items');
    assert.deepEqual(names, ['id']);
    assert.deepEqual(regex.exec('order:42:items')?.slice(1), ['42']);
    assert.ok(!regex.test('order::items'));
    assert.ok(!regex.test('order:4:2:items'));
  });

  it('matches across newlines only as data, never as a partial match', () => {
    assert.ok(!compilePattern('lobby').regex.test('lobby\nx'));
  });
});

describe('ChannelPolicy', () => {
  describe('#resolve', () => {
    it('takes the first matching rule and its placeholder values', () => {
      const resolved = crm.resolve('order:42');
      assert.equal(resolved?.rule.pattern, 'order:{id}');
      assert.deepEqual(resolved?.params, { id: '42' });
      assert.equal(resolved?.unmatched, false);
    });

    it('applies the defaults of the schema to a rule', () => {
      const rule = crm.resolve('city:x')!.rule;
      assert.deepEqual([rule.publish, rule.history.size, rule.presence, rule.joinLeave, rule.maxSubscribers], ['none', 10, false, false, 0]);
    });

    it('returns undefined for an unmatched channel by default', () => {
      assert.equal(crm.resolve('elsewhere'), undefined);
    });

    it('returns a permissive default rule for unmatched channels when allowed', () => {
      const open = policy({ unmatched: 'allow', rules: [{ pattern: 'x', subscribe: 'none' }] });
      const resolved = open.resolve('elsewhere');
      assert.equal(resolved?.unmatched, true);
      assert.equal(resolved?.rule.subscribe, 'all');
      assert.equal(resolved?.rule.publish, 'none');
      assert.equal(open.forSubscribe('x', who('u')), undefined, 'a matching rule still applies');
    });

    it('answers the same from its cache', () => {
      assert.strictEqual(crm.resolve('order:7'), crm.resolve('order:7'));
    });
  });

  describe('#forSubscribe', () => {
    it('allows a literal channel to its roles only', () => {
      assert.ok(crm.forSubscribe('operators', who('u1', ['operator'])));
      assert.ok(crm.forSubscribe('operators', who('u2', ['director'])));
      assert.equal(crm.forSubscribe('operators', who('u3', ['viewer'])), undefined);
      assert.equal(crm.forSubscribe('operators', who('u4')), undefined);
    });

    it('allows a wildcard rule with subscribe: all to anyone', () => {
      assert.ok(crm.forSubscribe('city:Саратов', who('u1')));
    });

    it('allows a personal channel to its owner only', () => {
      assert.ok(crm.forSubscribe('operator:7', who('7')));
      assert.equal(crm.forSubscribe('operator:7', who('8', ['director'])), undefined);
    });

    it('allows by role or by listed user', () => {
      assert.ok(crm.forSubscribe('order:1', who('u1', ['operator'])));
      assert.ok(crm.forSubscribe('order:1', who('auditor')));
      assert.equal(crm.forSubscribe('order:1', who('u2', ['director'])), undefined);
    });

    it('never allows subscribe: none', () => {
      assert.equal(crm.forSubscribe('closed', who('u1', ['director'])), undefined);
    });

    it('allows channels listed in the token, exactly or by prefix*', () => {
      assert.ok(crm.forSubscribe('operators', who('u1', [], ['operators'])));
      assert.ok(crm.forSubscribe('closed', who('u1', [], ['closed'])));
      assert.ok(crm.forSubscribe('order:9', who('u1', [], ['order:*'])));
      assert.equal(crm.forSubscribe('order:9', who('u1', [], ['order:8'])), undefined);
      // A grant for an unmatched channel subscribes with the default rule.
      const granted = crm.forSubscribe('private:x', who('u1', [], ['private:x']));
      assert.equal(granted?.unmatched, true);
    });

    it('keeps the matched rule (history, event roles) for a token grant', () => {
      assert.equal(crm.forSubscribe('city:x', who('u1', [], ['city:x']))?.rule.history.size, 10);
    });

    it('denies unmatched channels by default', () => {
      assert.equal(crm.forSubscribe('elsewhere', who('u1', ['director'])), undefined);
    });
  });

  describe('#canPublish', () => {
    it('follows the rule: roles, owner, all, and none by default', () => {
      assert.ok(crm.canPublish('directors', who('d', ['director'])));
      assert.ok(!crm.canPublish('directors', who('o', ['operator'])));
      assert.ok(crm.canPublish('operator:7', who('7')));
      assert.ok(!crm.canPublish('operator:7', who('8')));
      assert.ok(crm.canPublish('lobby', who('x')));
      assert.ok(!crm.canPublish('city:x', who('x', ['director'])), 'publish defaults to none');
      assert.ok(!crm.canPublish('elsewhere', who('x')), 'unmatched');
    });

    it('does not let a token channel grant publishing', () => {
      assert.ok(!crm.canPublish('city:x', who('u1', [], ['city:x'])));
    });
  });

  describe('.eventAllowed', () => {
    it('limits listed events to their roles and lets others through', () => {
      const rule = crm.resolve('order:1')!.rule;
      assert.ok(ChannelPolicy.eventAllowed(rule, 'order:price', ['director']));
      assert.ok(!ChannelPolicy.eventAllowed(rule, 'order:price', ['operator']));
      assert.ok(ChannelPolicy.eventAllowed(rule, 'order:status', []));
    });
  });
});
