import type { Socket } from 'socket.io-client';

/** Resolves with the next `event` on a socket.io-client socket. */
export function nextEvent<T = any>(socket: Socket, event: string, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Records every event of the given names, in arrival order. */
export function recordEvents(socket: Socket, events: string[]): { event: string; data: any }[] {
  const seen: { event: string; data: any }[] = [];
  for (const event of events) socket.on(event, (data: unknown) => seen.push({ event, data }));
  return seen;
}
