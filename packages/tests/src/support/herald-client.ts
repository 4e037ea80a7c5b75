import { createHeraldClient, exponentialBackoff, type ConnectionState, type EventMap, type HeraldClient, type HeraldClientOptions } from '@herald/client';
import { WebSocket } from 'ws';

/** Reconnects within tens of ms, so tests that cut the network stay fast. */
export const fastBackoff = exponentialBackoff({ initial: 50, factor: 2, max: 400, jitter: 0 });

/** A client for Node tests: `ws` as the WebSocket, memory storage, a fast backoff unless given. */
export function testClient<E extends EventMap = EventMap>(url: string, options: Partial<HeraldClientOptions> & Pick<HeraldClientOptions, 'token'>): HeraldClient<E> {
  return createHeraldClient<E>({ url: `${url}/ws`, WebSocket, backoff: fastBackoff, ...options });
}

/** Records every status the client goes through, collapsing repeats of the same status. */
export function recordStatuses(client: HeraldClient<any>): { statuses: string[]; states: ConnectionState[] } {
  const record = { statuses: [client.status] as string[], states: [client.state] };
  client.on('status', (state) => {
    record.states.push(state);
    if (record.statuses[record.statuses.length - 1] !== state.status) record.statuses.push(state.status);
  });
  return record;
}
