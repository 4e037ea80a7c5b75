import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloseCode } from '@herald/protocol';
import { startHerald, type HeraldFixture } from '@herald/server/testing';
import { assertStillServes } from './support/still-serves.js';
import { closePayload, Opcode, RawWebSocket, type ClientFrame } from './support/ws-wire.js';

const MAX_MESSAGE_BYTES = 4096;
const MAX_FRAGMENTS = 4;

/** A message split into `count` fragments: a text frame, then continuations, the last one final. */
const fragments = (count: number, part = 'x'): ClientFrame[] =>
  Array.from({ length: count }, (_, i) => ({ opcode: i === 0 ? Opcode.Text : Opcode.Continuation, payload: part, fin: i === count - 1 }));

/**
 * Frames RFC 6455 forbids, or Herald's limits refuse, with the close code each must get:
 * 1002 protocol error, 1007 invalid UTF-8, 1008 too many fragments, 1009 too big.
 */
const CASES: [string, ClientFrame[], number][] = [
  ['RSV1 set without an extension', [{ opcode: Opcode.Text, payload: '{"type":"ping"}', rsv: 4 }], 1002],
  ['RSV2 set', [{ opcode: Opcode.Text, payload: '{"type":"ping"}', rsv: 2 }], 1002],
  ['RSV3 set', [{ opcode: Opcode.Text, payload: '{"type":"ping"}', rsv: 1 }], 1002],
  ['RSV bits on a ping', [{ opcode: Opcode.Ping, payload: 'x', rsv: 7 }], 1002],
  ...[0x3, 0x4, 0x5, 0x6, 0x7].map((op): [string, ClientFrame[], number] => [`reserved data opcode 0x${op.toString(16)}`, [{ opcode: op, payload: 'x' }], 1002]),
  ...[0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, ClientFrame[], number] => [`reserved control opcode 0x${op.toString(16)}`, [{ opcode: op, payload: 'x' }], 1002]),
  ['an unmasked client frame', [{ opcode: Opcode.Text, payload: '{"type":"ping"}', mask: false }], 1002],
  ['a continuation with nothing to continue', [{ opcode: Opcode.Continuation, payload: 'x' }], 1002],
  ['a new text frame inside a fragmented message', [{ opcode: Opcode.Text, payload: '{', fin: false }, { opcode: Opcode.Text, payload: '}' }], 1002],
  ['a ping payload over 125 bytes', [{ opcode: Opcode.Ping, payload: 'x'.repeat(126) }], 1002],
  ['a close payload over 125 bytes', [{ opcode: Opcode.Close, payload: closePayload(1000, 'x'.repeat(200)) }], 1002],
  ['a fragmented ping', [{ opcode: Opcode.Ping, payload: 'x', fin: false }], 1002],
  ['a close frame of one byte', [{ opcode: Opcode.Close, payload: Buffer.from([3]) }], 1002],
  ...[0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535].map((code): [string, ClientFrame[], number] => [`close code ${code}`, [{ opcode: Opcode.Close, payload: closePayload(code) }], 1002]),
  ['a message over limits.maxMessageBytes', [{ opcode: Opcode.Text, payload: 'x'.repeat(MAX_MESSAGE_BYTES + 1) }], CloseCode.MessageTooBig],
  ['a frame announcing 2^53 bytes', [{ opcode: Opcode.Text, declaredLength: 2n ** 53n }], CloseCode.MessageTooBig],
  ['a frame announcing 2^63 bytes', [{ opcode: Opcode.Text, declaredLength: 2n ** 63n }], 1009],
  ['fragments adding up past limits.maxMessageBytes', fragments(2, 'x'.repeat(MAX_MESSAGE_BYTES / 2 + 1)), CloseCode.MessageTooBig],
  ['more fragments than limits.maxFragments', fragments(MAX_FRAGMENTS + 2), 1008],
  ['a thousand one-byte fragments', fragments(1000), 1008],
  ['invalid UTF-8 in a text frame', [{ opcode: Opcode.Text, payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }], 1007],
  ['an overlong UTF-8 encoding', [{ opcode: Opcode.Text, payload: Buffer.from([0x22, 0xc0, 0xaf, 0x22]) }], 1007],
  ['a UTF-16 surrogate encoded as UTF-8', [{ opcode: Opcode.Text, payload: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]) }], 1007],
  ['UTF-8 cut in the middle of a character', [{ opcode: Opcode.Text, payload: Buffer.from('"Са').subarray(0, 4) }], 1007],
  ['invalid UTF-8 across fragments', [{ opcode: Opcode.Text, payload: Buffer.from([0x22, 0xe2]), fin: false }, { opcode: Opcode.Continuation, payload: Buffer.from([0x28, 0xa1, 0x22]) }], 1007],
  ['invalid UTF-8 in a close reason', [{ opcode: Opcode.Close, payload: closePayload(1000, Buffer.from([0xff])) }], 1007],
  ['a binary frame', [{ opcode: Opcode.Binary, payload: '{"type":"ping"}' }], CloseCode.BadRequest],
];

describe('hostile WebSocket frames', () => {
  let herald: HeraldFixture;
  let token: string;
  before(async () => {
    herald = await startHerald({ limits: { maxMessageBytes: MAX_MESSAGE_BYTES, maxFragments: MAX_FRAGMENTS } });
    token = await herald.token({ sub: 'framer' });
  });
  after(() => herald.close());

  for (const stage of ['before authentication', 'after authentication'] as const) {
    describe(stage, () => {
      for (const [name, frames, code] of CASES) {
        it(`closes with ${code} for ${name}`, async () => {
          const ws = await RawWebSocket.open(herald.url, stage === 'before authentication' ? '/ws' : `/ws?token=${token}`);
          try {
            if (stage === 'after authentication') await ws.nextMessage((m) => m?.type === 'connected');
            for (const frame of frames) ws.send(frame);
            const close = await ws.closeFrame();
            assert.equal(close.code, code, `reason: ${close.reason}`);
            // Nothing Herald would answer to a frame gets through after a refused one.
            assert.equal(ws.messages.filter((m) => m?.type === 'pong').length, 0);
          } finally {
            ws.raw.destroy();
          }
          await assertStillServes(herald);
        });
      }
    });
  }

  it('still answers well-formed frames: fragments within the limit, a masked ping, a control frame between fragments', async () => {
    const ws = await RawWebSocket.open(herald.url, `/ws?token=${token}`);
    try {
      await ws.nextMessage((m) => m?.type === 'connected');
      ws.send({ opcode: Opcode.Text, payload: '{"type":"ping",', fin: false });
      ws.send({ opcode: Opcode.Ping, payload: 'between' });
      ws.send({ opcode: Opcode.Continuation, payload: '"id":7}' });
      assert.deepEqual(await ws.nextMessage((m) => m?.type === 'pong'), { type: 'pong', id: 7 });
      assert.ok(ws.frames.some((f) => f.opcode === Opcode.Pong && f.payload.toString() === 'between'), 'the ping between fragments is answered');
      ws.send({ opcode: Opcode.Close, payload: closePayload(1000, 'bye') });
      assert.equal((await ws.closeFrame()).code, 1000);
    } finally {
      ws.raw.destroy();
    }
  });
});
