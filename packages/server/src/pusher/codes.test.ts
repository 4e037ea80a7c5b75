import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloseCode, TERMINAL_CLOSE_CODES } from '@herald/protocol';
import { DISCONNECTS, ERRORS } from '../core/errors.js';
import { pusherCloseCode } from './codes.js';

/** pusher-js's reading of a close code (Protocol.getCloseAction): whether it comes back by itself. */
const reconnects = (code: number) => code < 4000 || (code >= 4100 && code < 4300);

describe('Pusher close codes', () => {
  it("give every close of Herald's core the same reconnect advice in the range pusher-js reads", () => {
    for (const code of Object.values(CloseCode)) {
      if (code === CloseCode.BadRequest || code === CloseCode.TooManyConnections) continue; // below
      assert.equal(reconnects(pusherCloseCode(code)), !TERMINAL_CLOSE_CODES.includes(code), `${code} → ${pusherCloseCode(code)}`);
    }
    for (const [name, d] of Object.entries(DISCONNECTS)) assert.equal(reconnects(pusherCloseCode(d.close)), d.retry, name);
    for (const [name, kind] of Object.entries(ERRORS)) if (kind.retry && kind.close !== CloseCode.TooManyConnections) assert.ok(reconnects(pusherCloseCode(kind.close)), name);
  });

  it("tells a full app with Pusher's 4004, which pusher-js does not retry (as on Pusher, where a quota stays full)", () => {
    assert.equal(pusherCloseCode(CloseCode.TooManyConnections), 4004);
    assert.equal(reconnects(4004), false);
  });

  it('ends a connection whose requests the server cannot read for good: it would send the same again', () => {
    assert.equal(reconnects(pusherCloseCode(CloseCode.BadRequest)), false);
  });
});
