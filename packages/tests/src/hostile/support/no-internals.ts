import assert from 'node:assert/strict';

/**
 * What a client must never be shown: stack frames, file paths, Node or library error codes,
 * JavaScript exception texts. Answers name Herald's own codes instead.
 */
const INTERNALS = [/\bat .+\(.*:\d+:\d+\)/, /node_modules|\/dist\/|\.js:\d+/, /\b(?:FST_ERR|ERR_|HPE_|E(?:CONNRESET|PIPE))\w*/, /Cannot read propert|is not a function|undefined is not|Maximum call stack|TypeError|RangeError|SyntaxError/];

export function assertNoInternals(text: string, what = 'the answer'): void {
  for (const pattern of INTERNALS) assert.doesNotMatch(text, pattern, `${what} shows internals: ${text.slice(0, 300)}`);
}
