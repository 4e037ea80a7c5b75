import { CloseCode } from '@herald/protocol';
import type { HeraldError } from '../core/errors.js';

/**
 * The Pusher protocol's error codes (sent in `pusher:error` and as the close code). pusher-js
 * acts on the range: 4000-4099 does not reconnect, 4100-4199 reconnects after a back-off,
 * 4200-4299 reconnects at once; 4300 and above is told without closing.
 */
export const PusherCode = {
  /** No app has the key in the URL. */
  AppNotFound: 4001,
  /** The app's tenant is at `limits.connectionsPerTenant`. */
  OverQuota: 4004,
  /** The URL is not `{path}/{key}`. */
  PathNotFound: 4005,
  InvalidVersion: 4006,
  UnsupportedProtocol: 4007,
  NoProtocolVersion: 4008,
  /** A bad sign-in, or the connection was terminated by the app (not to come back on its own). */
  Unauthorized: 4009,
  /** Try again later: the gateway cannot serve the connection now. */
  OverCapacity: 4100,
  /** Reconnect now, possibly to another node (a restart, a replaced connection). */
  ReconnectNow: 4200,
  /** The client answered no ping within `heartbeat.timeout`. */
  PongNotReceived: 4201,
  /** A client event past the app's `clientEventRate`; the connection stays. */
  ClientEventRateLimit: 4301,
} as const;

/**
 * The Pusher close code for each close Herald's core decides (see ERRORS and DISCONNECTS in
 * core/errors.ts): the same reconnect advice in the range pusher-js understands.
 */
const FROM_HERALD: Record<number, number> = {
  [CloseCode.Normal]: CloseCode.Normal,
  [CloseCode.MessageTooBig]: CloseCode.MessageTooBig,
  [CloseCode.InternalError]: PusherCode.OverCapacity,
  [CloseCode.ServiceRestart]: PusherCode.ReconnectNow,
  [CloseCode.BadRequest]: PusherCode.Unauthorized,
  [CloseCode.Unauthorized]: PusherCode.Unauthorized,
  [CloseCode.TokenExpired]: PusherCode.ReconnectNow,
  [CloseCode.Forbidden]: PusherCode.Unauthorized,
  [CloseCode.AuthTimeout]: PusherCode.ReconnectNow,
  [CloseCode.ConnectionReplaced]: PusherCode.ReconnectNow,
  [CloseCode.SlowConsumer]: PusherCode.OverCapacity,
  [CloseCode.RateLimited]: PusherCode.OverCapacity,
  [CloseCode.TooManyConnections]: PusherCode.OverQuota,
  [CloseCode.DisconnectedByServer]: PusherCode.Unauthorized,
  [CloseCode.HeartbeatTimeout]: PusherCode.PongNotReceived,
};

/** The Pusher close code for a Herald close code (the two share numbers with other meanings: 4001, 4009). */
export function pusherCloseCode(heraldCode: number): number {
  return FROM_HERALD[heraldCode] ?? PusherCode.ReconnectNow;
}

/** The Pusher code that ends a connection for an error of the handshake. */
export function pusherCodeOf(err: HeraldError): number {
  return pusherCloseCode(err.kind.close);
}
