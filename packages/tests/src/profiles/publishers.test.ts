import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PROFILE_WEBHOOK, startProfile } from '../support/profile-server.js';

const EXAMPLES = fileURLToPath(new URL('../../../../examples/', import.meta.url));

/** Runs an example's publisher script as its README does; resolves with its exit code and output. */
function runPublisher(profile: string, port: string, webhookToken: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${EXAMPLES}${profile}/publish.mjs`], { env: { PATH: process.env.PATH ?? '', PORT: port, WEBHOOK_TOKEN: webhookToken } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('example publishers', () => {
  for (const profile of ['callcenter', 'scheduling', 'proposals', 'rental-dashboard', 'homeplanner']) {
    it(`${profile}: publishes through the profile's API, and fails loudly with a wrong token`, async () => {
      await using server = await startProfile(profile);
      const port = new URL(server.url).port;
      const ok = await runPublisher(profile, port, PROFILE_WEBHOOK);
      assert.equal(ok.code, 0, ok.output);
      const refused = await runPublisher(profile, port, 'not-the-webhook-token');
      assert.equal(refused.code, 1, refused.output);
      assert.match(refused.output, /401/);
    });
  }
});
