import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { ErrorCode } from '@herald/protocol';

/**
 * Answers on a bare socket (an upgrade, or a request the HTTP parser refused) with a status and
 * a JSON body, then closes it: there is no response object to write through.
 */
export function answerRaw(socket: Duplex, status: number, json: object): void {
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

/** Refuses an HTTP upgrade with a status and Herald's JSON error body, then closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  answerRaw(socket, status, { error: { code, message } });
}

/**
 * A request the HTTP parser could not read (a header too large, a bad character, a broken
 * request line), answered in the API's error shape instead of the parser's.
 */
export function answerParserRefusal(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  answerRaw(socket, tooLarge ? 431 : 400, {
    error: { code: ErrorCode.BadRequest, message: tooLarge ? 'request headers too large' : 'malformed HTTP request' },
  });
}
