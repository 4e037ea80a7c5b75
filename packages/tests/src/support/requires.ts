import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

/**
 * A `describe` that needs something the machine may lack (redis-server, Chromium). `missing` says
 * what is missing, or is undefined when all is there. In CI a missing requirement fails the run;
 * elsewhere the suite is skipped, loudly.
 */
export function describeRequiring(name: string, missing: string | undefined, body: () => void): void {
  if (missing === undefined) {
    void describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    void describe(name, () => {
      it('has what it needs to run', () => assert.fail(missing));
    });
    return;
  }
  console.warn(`\n!!! SKIPPING ${name}: ${missing}. With CI=true this fails.\n`);
  void describe(name, { skip: missing }, () => undefined);
}
