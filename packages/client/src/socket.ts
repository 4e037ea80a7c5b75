/**
 * The part of the WebSocket API the client uses. The browser's `WebSocket` fits, and so does
 * the `ws` package's (Node 20 has no global WebSocket).
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

/** The given constructor, else the global one; throws a helpful error when there is neither. */
export function resolveWebSocket(given?: WebSocketConstructor): WebSocketConstructor {
  const ctor = given ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!ctor) {
    throw new TypeError('no global WebSocket here (Node 20 has none): pass the WebSocket option, e.g. `import { WebSocket } from "ws"`');
  }
  return ctor;
}

/** Sends when the socket is open; a frame for a closing socket is dropped, as its requests fail anyway. */
export function sendIfOpen(socket: WebSocketLike, text: string): boolean {
  if (socket.readyState !== OPEN) return false;
  socket.send(text);
  return true;
}

/**
 * Lets go of a socket at once: its handlers are detached and it is terminated (`ws`) or closed
 * (browsers). A link that has gone silent would never answer a close handshake, and waiting
 * for one would hold up the reconnect.
 */
export function dropSocket(socket: WebSocketLike, reason: string): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  // Keep a listener: `ws` throws an 'error' event that nobody listens to.
  socket.onerror = () => {};
  const terminate = (socket as { terminate?: () => void }).terminate;
  try {
    if (typeof terminate === 'function') terminate.call(socket);
    else socket.close(1000, reason.slice(0, 120));
  } catch {
    // already closed
  }
}
