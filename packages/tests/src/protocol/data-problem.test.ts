import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_DATA_BYTES, DEFAULT_MAX_DATA_DEPTH, dataProblem } from '@herald/protocol';

const nested = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

/** Values covering every kind JSON.stringify treats specially. */
const SAMPLES: unknown[] = [
  0,
  -0,
  1.5e-7,
  1e21,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  null,
  '',
  'plain',
  // Edges of the plain-ASCII quick count: space, !, #, [, ], ~, and DEL just past them.
  ' !#[]^_`{|}~',
  'del \u007f',
  'quote " backslash \\ slash /',
  '\u0000\u0001\b\t\n\f\r\u001f\u007f',
  'é Саратов 日本',
  '😀 and a lone \ud800 and \udc00',
  [],
  {},
  [1, , 3],
  [undefined, () => 1, Symbol('s')],
  { skipped: undefined, fn: () => 1, kept: 1 },
  { '': '', 'ключ': ['日本', { nested: { deeper: [null] } }] },
  new Date(0),
  { boxed: [new String('ab'), new Number(2), new Boolean(false)] },
  { toJSON: () => ({ replaced: true }) },
  { inner: { toJSON: () => undefined }, kept: 1 },
];

describe('dataProblem', () => {
  it('accepts what nests up to the depth limit and refuses one level more', () => {
    assert.equal(dataProblem(nested(DEFAULT_MAX_DATA_DEPTH)), undefined);
    assert.equal(dataProblem(nested(DEFAULT_MAX_DATA_DEPTH + 1)), `nested deeper than ${DEFAULT_MAX_DATA_DEPTH} levels`);
    assert.equal(dataProblem({ a: { b: {} } }, { maxDepth: 2 }), 'nested deeper than 2 levels');
    assert.equal(dataProblem({ a: { b: 1 } }, { maxDepth: 2 }), undefined);
    assert.equal(dataProblem('a scalar has no depth', { maxDepth: 1 }), undefined);
  });

  it('answers for a value far deeper than JSON.stringify can encode, without overflowing', () => {
    const deep = nested(100_000);
    assert.throws(() => JSON.stringify(deep), RangeError);
    assert.equal(dataProblem(deep), `nested deeper than ${DEFAULT_MAX_DATA_DEPTH} levels`);
    assert.equal(dataProblem(deep, { maxDepth: 1_000, maxBytes: Infinity }), 'nested deeper than 1000 levels');
  });

  it('counts exactly the UTF-8 bytes JSON.stringify writes', () => {
    for (const value of SAMPLES) {
      const bytes = Buffer.byteLength(JSON.stringify(value));
      const shown = JSON.stringify(value);
      assert.equal(dataProblem(value, { maxBytes: bytes }), undefined, `${shown} is ${bytes} bytes`);
      assert.equal(dataProblem(value, { maxBytes: bytes - 1 }), `larger than ${bytes - 1} bytes as JSON`, `${shown} is more than ${bytes - 1} bytes`);
    }
    const all = Buffer.byteLength(JSON.stringify(SAMPLES));
    assert.equal(dataProblem(SAMPLES, { maxBytes: all }), undefined);
    assert.notEqual(dataProblem(SAMPLES, { maxBytes: all - 1 }), undefined);
  });

  it('applies the default size limit', () => {
    // A string of n ASCII characters is n + 2 bytes of JSON.
    assert.equal(dataProblem('x'.repeat(DEFAULT_MAX_DATA_BYTES - 2)), undefined);
    assert.equal(dataProblem('x'.repeat(DEFAULT_MAX_DATA_BYTES - 1)), `larger than ${DEFAULT_MAX_DATA_BYTES} bytes as JSON`);
  });

  it('has nothing to say about absent data', () => {
    assert.equal(dataProblem(undefined, { maxBytes: 0 }), undefined);
  });

  it('refuses what JSON cannot encode, without throwing', () => {
    assert.equal(dataProblem({ n: 1n }), 'contains a bigint, which JSON cannot encode');
    const cycle: unknown[] = [];
    cycle.push(cycle);
    assert.equal(dataProblem(cycle), `nested deeper than ${DEFAULT_MAX_DATA_DEPTH} levels`);
    const throwing = {
      toJSON() {
        throw new Error('no');
      },
    };
    assert.equal(dataProblem([throwing]), 'cannot be encoded as JSON');
  });
});
