/**
 * The wait before retry number `attempt` (1 for the first): doubling from `initialDelay` up to
 * `maxDelay`, each a random 50-100 % of that so that endpoints coming back are not hit by every
 * node's retries at once. Eight lines: no retry library fits a queue whose retries wait as timers.
 */
export function retryDelay(attempt: number, retry: { initialDelay: number; maxDelay: number }, random = Math.random): number {
  const ceiling = Math.min(retry.maxDelay, retry.initialDelay * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}
