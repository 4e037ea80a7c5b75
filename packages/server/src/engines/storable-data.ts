import { DATA_DEPTH_CEILING, dataProblem } from '@herald/protocol';

/** Why no engine may store or hand out this data (see Broker.publish and HistoryPage.unreadable), or undefined. */
export function unstorable(data: unknown): string | undefined {
  // Size is the hub's policy (limits.maxDataBytes); depth and types are what encoding survives.
  return dataProblem(data, { maxDepth: DATA_DEPTH_CEILING, maxBytes: Infinity });
}

/** Throws a TypeError, which is no EngineUnavailableError, for data no engine may store. */
export function assertStorable(data: unknown): void {
  const problem = unstorable(data);
  if (problem !== undefined) throw new TypeError(`publication data ${problem}`);
}
