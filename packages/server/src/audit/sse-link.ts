import type { ServerResponse } from 'node:http';
import { CloseCode } from '@herald/protocol';
import type { OutboundPublication } from '../core/outbound.js';
import { corkForTurn } from '../transports/turn-writes.js';
import type { AuditLink, AuditReader, AuditStart } from './reader.js';
import { auditEventFormat, positionId } from './wire.js';

/**
 * One audit reader's Server-Sent Events response. Event names are fixed and data is JSON, so
 * nothing in a record can start a field of its own.
 */
export class AuditSseLink implements AuditLink {
  readonly transport = 'sse';
  reader: AuditReader | undefined;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly sendQueueBytes: number,
  ) {}

  /** The start position as the event's id: a reader cut before its first record resumes from there. */
  sendStart(start: AuditStart): void {
    this.write(`id: ${positionId(start.position)}\nevent: subscribed\ndata: ${JSON.stringify(start)}\n\n`);
  }

  sendRecord(out: OutboundPublication): void {
    this.write(out.encoded(auditEventFormat));
  }

  sendEvent(event: string, body: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(body)}\n\n`);
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    if (code !== CloseCode.SlowConsumer) this.sendEvent('close', { code, reason });
    this.closed = true;
    this.res.end();
    // A reader that never drains would keep the socket; cut it.
    setTimeout(() => this.res.destroy(), 2000).unref();
  }

  private write(chunk: string): void {
    if (this.closed || this.res.destroyed) return;
    if (this.res.writableLength > this.sendQueueBytes) {
      if (this.reader) this.reader.tooSlow();
      else this.close(CloseCode.SlowConsumer, 'slow consumer');
      return;
    }
    corkForTurn(this.res.socket);
    this.res.write(chunk);
  }
}
