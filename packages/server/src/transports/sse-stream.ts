import type { ServerResponse } from 'node:http';

/** Starts an event stream on a hijacked response: status, headers (no proxy buffering), sent at once. */
export function openEventStream(res: ServerResponse, origin: string | undefined): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...(origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {}),
  });
  res.flushHeaders();
}

/**
 * A comment line to every stream at most every 15 s (sooner with a shorter heartbeat): it keeps
 * proxies from closing idle streams; clients ignore it. Returns the timer, to clear at close.
 */
export function keepStreamsAlive(streams: Iterable<{ comment(text: string): void }>, heartbeatInterval: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    for (const stream of streams) stream.comment('keep-alive');
  }, Math.min(heartbeatInterval, 15_000));
  timer.unref();
  return timer;
}
