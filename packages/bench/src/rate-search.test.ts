import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatorBound, reportedStep, searchRates, stepGeneratorBound, type Outcome } from './rate-search.js';
import type { StepResult } from './result.js';

/** Runs the search against fixed outcomes per rate; returns the rates tried, in order. */
async function tried(rates: { start: number; max: number; bisections: number }, outcomeOf: (rate: number) => Outcome): Promise<number[]> {
  const seen: number[] = [];
  await searchRates(rates, async (rate) => {
    seen.push(rate);
    return outcomeOf(rate);
  });
  return seen;
}

function step(rate: number, passed: boolean, generatorBusy = 0.5): StepResult {
  return { rate, passed, generator_cpu: generatorBusy, generator_core_busy: generatorBusy, generator_bound: stepGeneratorBound({ passed, generator_cpu: generatorBusy, generator_core_busy: generatorBusy }) } as StepResult;
}

describe('searchRates', () => {
  it('doubles while steps pass, then bisects between the last pass and the first fail', async () => {
    assert.deepEqual(await tried({ start: 40, max: 5000, bisections: 2 }, (r) => (r <= 100 ? 'pass' : 'fail')), [40, 80, 160, 120, 100]);
  });

  it('halves from the start while steps fail', async () => {
    assert.deepEqual(await tried({ start: 40, max: 5000, bisections: 1 }, (r) => (r <= 10 ? 'pass' : 'fail')), [40, 20, 10, 15]);
  });

  it('stops at the first generator-bound step, in any phase', async () => {
    assert.deepEqual(await tried({ start: 40, max: 5000, bisections: 4 }, (r) => (r >= 160 ? 'generator-bound' : 'pass')), [40, 80, 160]);
    assert.deepEqual(await tried({ start: 40, max: 5000, bisections: 4 }, (r) => (r === 40 ? 'fail' : 'generator-bound')), [40, 20]);
    assert.deepEqual(await tried({ start: 40, max: 5000, bisections: 4 }, (r) => (r <= 80 ? 'pass' : r === 160 ? 'fail' : 'generator-bound')), [40, 80, 160, 120]);
  });

  it('runs a fixed rate once', async () => {
    assert.deepEqual(await tried({ start: 5000, max: 5000, bisections: 0 }, () => 'generator-bound'), [5000]);
  });
});

describe('reportedStep', () => {
  it('reports the generator-bound step that ended the search, not the last pass', () => {
    const steps = [step(40, true), step(80, true), step(160, false, 0.95)];
    assert.equal(reportedStep(steps).rate, 160);
  });

  it('reports the highest passing rate, else the first step', () => {
    assert.equal(reportedStep([step(40, true), step(80, false), step(60, true), step(70, false)]).rate, 60);
    assert.equal(reportedStep([step(40, false), step(20, false)]).rate, 40);
  });
});

describe('generatorBound', () => {
  it("takes the busier of the generator's process time and its core", () => {
    assert.equal(generatorBound({ generator_cpu: 0.6, generator_core_busy: 0.93 }), 0.93);
    assert.equal(generatorBound({ generator_cpu: 0.91, generator_core_busy: null }), 0.91);
    assert.equal(generatorBound({ generator_cpu: 0.6, generator_core_busy: 0.89 }), null);
  });
});

describe('stepGeneratorBound', () => {
  it('holds a failed step against the generator only when the generator was near a full core', () => {
    assert.equal(stepGeneratorBound({ passed: false, generator_cpu: 0.95, generator_core_busy: 0.97 }), true);
    assert.equal(stepGeneratorBound({ passed: false, generator_cpu: 0.5, generator_core_busy: 0.6 }), false);
  });

  it('lets a step that passed pass, however busy the generator was', () => {
    assert.equal(stepGeneratorBound({ passed: true, generator_cpu: 0.96, generator_core_busy: 0.99 }), false);
  });
});
