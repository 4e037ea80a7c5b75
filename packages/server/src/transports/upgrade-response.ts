import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';

/** Refuses an HTTP upgrade with a status and Herald's JSON error body, then closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  refuseUpgradeWith(socket, status, { error: { code, message } });
}

/** Refuses an HTTP upgrade with a status and a JSON body of the endpoint's own shape, then closes the socket. */
export function refuseUpgradeWith(socket: Duplex, status: number, json: object): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify(json);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}
