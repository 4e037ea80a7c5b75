import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplyError } from 'ioredis';
import { EngineUnavailableError } from '../engine.js';
import { asEngineError, isMoved } from './redis-errors.js';

/** Replies as ioredis hands them over: ReplyError with Redis's message. */
const reply = (message: string) => new ReplyError(message) as Error;

describe('asEngineError', () => {
  it('sorts a redirection the client could not follow (MOVED, ASK) as unavailable, like TRYAGAIN: nothing ran', () => {
    for (const message of ['MOVED 7638 127.0.0.1:7001', 'ASK 7638 127.0.0.1:7001', 'TRYAGAIN Multiple keys request during rehashing of slot']) {
      const sorted = asEngineError(reply(message));
      assert.ok(sorted instanceof EngineUnavailableError, message);
      assert.equal((sorted.cause as Error).message, message);
    }
  });

  it('returns a fault as it is', () => {
    const fault = reply('WRONGTYPE Operation against a key holding the wrong kind of value');
    assert.equal(asEngineError(fault), fault);
  });
});

describe('isMoved', () => {
  it('is true for a MOVED reply only', () => {
    assert.equal(isMoved(reply('MOVED 7638 127.0.0.1:7001')), true);
    assert.equal(isMoved(reply('ASK 7638 127.0.0.1:7001')), false);
    assert.equal(isMoved(new Error('MOVED 7638 127.0.0.1:7001')), false);
  });
});
