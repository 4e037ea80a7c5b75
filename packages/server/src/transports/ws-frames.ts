import * as wsModule from 'ws';
import type { WebSocket } from 'ws';
import type { WireFormat } from '../core/outbound.js';

/**
 * `ws` frames a message on every `send()`. A publication going to many sockets is framed once
 * here instead, header and payload in one buffer, and written as-is through the socket's sender,
 * which is what engine.io does for its pre-encoded packets. `Sender.frame` and `_sender.sendFrame`
 * are internals of `ws` without typings; where they are missing, links fall back to `send()`.
 */
interface Framing {
  Sender?: { frame?(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
}
interface FramedSender {
  readyState?: number;
  _sender?: { sendFrame?(list: Buffer[]): void; _queue?: unknown[] };
}

const { Sender } = wsModule as unknown as Framing;
const TEXT_FRAME = { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false };

/** Whether this `ws` can frame a message once for many sockets. */
export const preFraming = typeof Sender?.frame === 'function';

/** The complete unmasked text frame (header and payload) of a server message. */
export function textFrame(payload: Buffer): Buffer {
  return Buffer.concat(Sender!.frame!(payload, TEXT_FRAME));
}

/** A wire format whose output is the whole WebSocket frame of what `inner` encodes. */
export function framed(inner: WireFormat): WireFormat<Buffer> {
  return {
    name: `${inner.name}+frame`,
    encode: (publication) => {
      const payload = inner.encode(publication);
      return textFrame(typeof payload === 'string' ? Buffer.from(payload) : payload);
    },
  };
}

/**
 * Writes a pre-built frame to the socket. False when this socket's sender cannot take one
 * (the caller then sends the message the ordinary way). Only valid without per-message deflate,
 * which Herald never enables: with it, `ws` may hold frames back, and a raw frame would overtake them.
 */
export function writeFrame(ws: WebSocket, frame: Buffer): boolean {
  const sender = (ws as unknown as FramedSender)._sender;
  if (typeof sender?.sendFrame !== 'function') return false;
  sender.sendFrame([frame]);
  return true;
}

/**
 * Writes pre-built frames (one message: whole, or first and last fragment) to an open `ws`
 * socket whose sender holds nothing back, so they go out after everything sent before. False,
 * without writing, when that cannot be promised: the caller then sends them its ordinary way.
 */
export function writeFramesInOrder(ws: unknown, frames: Buffer[]): boolean {
  const socket = ws as FramedSender | undefined;
  const sender = socket?._sender;
  if (socket?.readyState !== WS_OPEN || typeof sender?.sendFrame !== 'function' || sender._queue?.length !== 0) return false;
  sender.sendFrame(frames);
  return true;
}

const WS_OPEN = 1;

const FIRST_FRAGMENT = { fin: false, opcode: 1, mask: false, readOnly: true, rsv1: false };

/**
 * A text message in two frames: the first fragment, shared by every socket, and the last,
 * built per socket. A message that differs between sockets only at its end (a Socket.IO
 * event whose last argument is the socket's own cursor) is then framed once, not copied per socket.
 */
export function firstFragment(payload: Buffer): Buffer {
  return Buffer.concat(Sender!.frame!(payload, FIRST_FRAGMENT));
}

/** The last fragment of a message whose end is short ASCII text (a cursor), in one allocation. */
export function lastFragment(text: string): Buffer {
  const length = text.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  // FIN and the continuation opcode; server frames are not masked (RFC 6455 §5.2).
  frame[0] = 0x80;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, header, 'latin1');
  return frame;
}
