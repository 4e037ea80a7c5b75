/**
 * - `connecting`: the first connection is being made.
 * - `connected`: the link is up and authenticated.
 * - `reconnecting`: the link went down; waiting for or making the next attempt.
 * - `offline`: not trying: the app disconnected, or the browser reports no network.
 * - `failed`: given up: attempts exhausted or a close code that retrying cannot fix (bad token, forbidden).
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'failed';

export interface ConnectionState {
  status: ConnectionStatus;
  /** Why the client is in this state; absent when connected. */
  reason?: string;
  /** The close code that led here, when a close did. */
  code?: number;
  /** The reconnect attempt under way or next (1-based); 0 when connected. */
  attempt: number;
  /** While waiting to reconnect: when the next attempt starts, ms since epoch. */
  retryAt?: number;
  /** When this state began, ms since epoch. */
  since: number;
}

export type IndicatorColor = 'green' | 'yellow' | 'red';

/**
 * The colour of a connection indicator: green when connected, yellow while (re)connecting,
 * red when offline or failed. The one place apps should derive it from.
 *
 * @example
 * client.on('status', (state) => (dot.style.background = indicatorColor(state)));
 */
export function indicatorColor(state: ConnectionState | ConnectionStatus): IndicatorColor {
  const status = typeof state === 'string' ? state : state.status;
  if (status === 'connected') return 'green';
  if (status === 'connecting' || status === 'reconnecting') return 'yellow';
  return 'red';
}

/** A short English label for a tooltip: "Connected", "Reconnecting…", "Offline". */
export function statusLabel(state: ConnectionState | ConnectionStatus): string {
  const status = typeof state === 'string' ? state : state.status;
  switch (status) {
    case 'connected':
      return 'Connected';
    case 'connecting':
      return 'Connecting…';
    case 'reconnecting':
      return 'Reconnecting…';
    case 'offline':
      return 'Offline';
    case 'failed':
      return 'Connection failed';
  }
}
