import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type HeraldFixture } from '@herald/server/testing';
import { assertNoInternals } from './support/no-internals.js';
import { IN_HTTP_HEAD, TOKEN_ROUTES, UNAUTHORIZED, type Refusal } from './support/refusals.js';
import { assertStillServes } from './support/still-serves.js';
import { forgedSecretTokens, rsaKeys } from './support/tokens.js';

/**
 * The documented refusal: 4001 (or 401 on SSE) with the reason. A token over 16,384 characters
 * cannot fit an HTTP request head: Node refuses it with 431 before Herald sees it; in a frame the
 * reason says it is too long.
 */
function assertRefused(route: string, token: string, refusal: Refusal, reason: RegExp): void {
  assertNoInternals(refusal.reason);
  if (token.length > 16_384) {
    if (IN_HTTP_HEAD.has(route)) return assert.equal(refusal.code, 431, refusal.reason);
    reason = /token too long/;
  }
  assert.equal(refusal.code, UNAUTHORIZED[route], refusal.reason);
  assert.match(refusal.reason, reason);
}

describe('JWT attacks on every transport', () => {
  describe('against a shared secret', () => {
    let herald: HeraldFixture;
    before(async () => {
      herald = await startHerald();
    });
    after(() => herald.close());

    for (const { name, token, reason } of forgedSecretTokens()) {
      for (const [route, present] of Object.entries(TOKEN_ROUTES)) {
        it(`refuses ${name} on ${route}`, async () => {
          const refusal = await present(herald, token);
          assertRefused(route, token, refusal, reason);
        });
      }
      it(`still serves a valid token after ${name} on every route`, () => assertStillServes(herald));
    }
  });

  describe('against a public key', () => {
    const keys = rsaKeys();
    let herald: HeraldFixture;
    before(async () => {
      herald = await startHerald({ auth: { jwt: { secret: undefined, publicKey: keys.publicPem } } });
    });
    after(() => herald.close());

    const attacks: [string, string, RegExp][] = [
      ['an HS256 token signed with the public key (HS/RS confusion)', keys.confused('mallory'), /algorithm not allowed/],
      ['an RS256 token signed by another key', keys.foreign('mallory'), /signature invalid/],
      ...forgedSecretTokens()
        .filter((t) => ['alg none', 'garbage', 'too long'].includes(t.name))
        .map((t): [string, string, RegExp] => [t.name, t.token, t.reason]),
    ];
    // A token signed with the private key is accepted: the refusals are about the attacks.
    const probe = { token: (sub: string, tenant: string) => keys.valid(sub, { tenant }) };
    for (const [name, token, reason] of attacks) {
      for (const [route, present] of Object.entries(TOKEN_ROUTES)) {
        it(`refuses ${name} on ${route}`, async () => {
          const refusal = await present(herald, token);
          assertRefused(route, token, refusal, reason);
        });
      }
      it(`still serves a token signed with the private key after ${name} on every route`, () => assertStillServes(herald, probe));
    }
  });
});
