// The rate search of throughput workloads, apart from measuring so that its rules can be tested:
// which rates are tried, when the search stops, and which step a row reports.
import type { StepResult } from './result.js';
import type { RateSearch } from './workloads.js';

/** A generator busier than this (in cores) may be what limits a step, not the server. */
export const GENERATOR_FULL = 0.9;

/**
 * How a step ended: a step that failed while the generator was near a full core is generator-bound:
 * it neither passes nor fails, and ends the search. A step that passed passes however busy the
 * generator was: everything arrived in time at a generator that kept up.
 */
export type Outcome = 'pass' | 'fail' | 'generator-bound';

/** The generator's CPU in cores when the step was near its limit, else null. */
export function generatorBound(step: Pick<StepResult, 'generator_cpu' | 'generator_core_busy'>): number | null {
  const cpu = Math.max(step.generator_cpu, step.generator_core_busy ?? 0);
  return cpu >= GENERATOR_FULL ? cpu : null;
}

/** Whether a measured step is generator-bound: it failed, and the generator was near a full core. */
export function stepGeneratorBound(step: Pick<StepResult, 'passed' | 'generator_cpu' | 'generator_core_busy'>): boolean {
  return !step.passed && generatorBound(step) !== null;
}

export function outcome(step: StepResult): Outcome {
  return step.generator_bound ? 'generator-bound' : step.passed ? 'pass' : 'fail';
}

/**
 * Doubles from `start` while steps pass (up to `max`), or halves while they fail (up to three
 * times), then bisects between the highest passing and the lowest failing rate. Stops at the
 * first generator-bound step: a higher rate would measure the generator.
 */
export async function searchRates({ start, max, bisections }: RateSearch, run: (rate: number) => Promise<Outcome>): Promise<void> {
  let passed: number | undefined;
  let failed: number | undefined;
  const step = async (rate: number): Promise<boolean> => {
    const result = await run(rate);
    if (result === 'generator-bound') return false;
    if (result === 'pass') passed = rate;
    else failed = rate;
    return true;
  };
  for (let rate = start; rate <= max; rate *= 2) {
    if (!(await step(rate))) return;
    if (failed !== undefined) break;
  }
  for (let rate = start / 2, tries = 0; passed === undefined && start < max && tries < 3; rate /= 2, tries++) {
    if (!(await step(Math.max(1, Math.round(rate))))) return;
  }
  for (let i = 0; i < bisections && passed !== undefined && failed !== undefined; i++) {
    const rate = Math.round((passed + failed) / 2);
    if (rate === passed || rate === failed) break;
    if (!(await step(rate))) return;
  }
}

/** The step a row reports: the generator-bound one that ended the search, else the highest passing rate, else the first. */
export function reportedStep(steps: StepResult[]): StepResult {
  const last = steps[steps.length - 1];
  if (last?.generator_bound) return last;
  const passing = steps.filter((s) => s.passed);
  return passing.length > 0 ? passing.reduce((a, b) => (b.rate > a.rate ? b : a)) : steps[0];
}

/** The note of a generator-bound row: the generator's CPU, and what the step saw. */
export function generatorBoundNote(step: StepResult, cpu: number): string {
  return `generator-bound (generator ${cpu} cores) at ${step.rate}/s: the server's limit is not measured${step.why ? `; the step saw ${step.why}` : ''}`;
}
