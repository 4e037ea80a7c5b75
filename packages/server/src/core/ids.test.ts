import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newConnectionId, newPublicationId } from './ids.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('ids', () => {
  it('makes publication ids that are ULIDs and strictly increase, also within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newPublicationId());
    for (const id of ids) assert.match(id, ULID);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], `${ids[i - 1]} < ${ids[i]}`);
  });

  it('draws a fresh random part for each new millisecond', async () => {
    const randomParts = new Set<string>();
    for (let i = 0; i < 20; i++) {
      randomParts.add(newPublicationId().slice(10));
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(randomParts.size, 20);
    // 16 characters of 32 symbols: across 20 ids nearly every symbol shows up somewhere.
    assert.ok(new Set([...randomParts].join('')).size > 25);
  });

  it('makes distinct connection ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newConnectionId()));
    assert.equal(ids.size, 1000);
  });
});
