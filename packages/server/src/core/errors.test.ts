import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CloseCode, ErrorCode, TERMINAL_CLOSE_CODES } from '@herald/protocol';
import { DISCONNECTS, ERRORS, HeraldError } from './errors.js';

const PROTOCOL_DOC = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8');

/** The rows of the Markdown table under a heading, as arrays of cells. */
function tableUnder(heading: string): string[][] {
  const start = PROTOCOL_DOC.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/protocol.md has a "${heading}" section`);
  const lines = PROTOCOL_DOC.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

describe('the error table', () => {
  it('gives every error kind a protocol code, an HTTP error status and a close code Herald documents', () => {
    const codes = new Set<string>(Object.values(ErrorCode));
    const closeCodes = new Set<number>(Object.values(CloseCode));
    for (const [name, kind] of Object.entries(ERRORS)) {
      assert.ok(codes.has(kind.code), `${name}: ${kind.code}`);
      assert.ok(kind.status >= 400 && kind.status < 600, `${name}: ${kind.status}`);
      assert.ok(closeCodes.has(kind.close as CloseCode), `${name}: ${kind.close}`);
    }
    for (const [name, disconnect] of Object.entries(DISCONNECTS)) assert.ok(closeCodes.has(disconnect.close as CloseCode), `${name}: ${disconnect.close}`);
  });

  it('is what docs/protocol.md documents: every error code, and every close code with whether to reconnect', () => {
    const documentedCodes = tableUnder('### Error codes').flatMap(([cell]) => [...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]));
    assert.deepEqual([...new Set(documentedCodes)].sort(), [...Object.values(ErrorCode)].sort());

    const closeRows = new Map(tableUnder('### Close codes').map(([code, , , reconnect]) => [Number(code), reconnect]));
    const used = new Set<number>([...Object.values(ERRORS).map((k) => k.close), ...Object.values(DISCONNECTS).map((d) => d.close), ...Object.values(CloseCode)]);
    for (const code of used) assert.ok(closeRows.has(code), `close code ${code} is documented`);
    for (const [code, reconnect] of closeRows) {
      assert.equal(reconnect.startsWith('no'), TERMINAL_CLOSE_CODES.includes(code), `${code}: "${reconnect}" against TERMINAL_CLOSE_CODES`);
    }
    for (const disconnect of Object.values(DISCONNECTS)) assert.equal(disconnect.retry, !TERMINAL_CLOSE_CODES.includes(disconnect.close), `${disconnect.close}`);
  });

  it('tells a HeraldError by its kind: code, status and close code from the one table', () => {
    const err = new HeraldError('tenantFull', 'tenant acme has its maximum of 50 connections');
    assert.deepEqual([err.code, err.kind.status, err.kind.close], [ErrorCode.LimitExceeded, 503, CloseCode.TooManyConnections]);
    assert.deepEqual(new HeraldError('badRequest', 'event: too long', 'event').toBody(), { code: 'bad_request', message: 'event: too long', field: 'event' });
  });
});
