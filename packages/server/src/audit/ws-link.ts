import { CloseCode, type ErrorBody } from '@herald/protocol';
import type { WebSocket } from 'ws';
import type { OutboundPublication } from '../core/outbound.js';
import type { Beating } from '../transports/heartbeat.js';
import { corkForTurn, socketOfWebSocket } from '../transports/turn-writes.js';
import { closeWebSocket } from '../transports/ws-link.js';
import type { AuditLink, AuditReader, AuditStart } from './reader.js';
import { auditFrameFormat } from './wire.js';

/**
 * One audit reader's WebSocket: JSON frames, and a reader whose unsent data passes the limit is
 * closed as a slow consumer rather than buffered.
 */
export class AuditWebSocketLink implements AuditLink, Beating {
  readonly transport = 'websocket';
  reader: AuditReader | undefined;
  lastSeen = Date.now();
  private closing = false;
  private readonly socket;

  constructor(
    private readonly ws: WebSocket,
    private readonly sendQueueBytes: number,
  ) {
    this.socket = socketOfWebSocket(ws);
  }

  sendStart(start: AuditStart): void {
    this.write(JSON.stringify({ type: 'subscribed', ...start }));
  }

  sendRecord(out: OutboundPublication): void {
    this.write(out.encoded(auditFrameFormat));
  }

  sendError(error: ErrorBody): void {
    this.write(JSON.stringify({ type: 'error', ...error }));
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    closeWebSocket(this.ws, code, reason);
  }

  ping(): void {
    if (!this.closing) this.ws.ping();
  }

  dead(): void {
    this.close(CloseCode.HeartbeatTimeout, 'no pong within the heartbeat timeout');
    this.ws.terminate();
  }

  private write(data: string): void {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.sendQueueBytes) {
      if (this.reader) this.reader.tooSlow();
      else this.close(CloseCode.SlowConsumer, 'slow consumer: send queue full');
      return;
    }
    corkForTurn(this.socket);
    this.ws.send(data);
  }
}
