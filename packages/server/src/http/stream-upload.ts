import type { FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, HeraldError, unavailable } from '../core/errors.js';
import type { Node } from '../core/node.js';
import type { StreamMessage } from '../core/stream-messages.js';
import { StreamEndedError } from '../core/streams.js';
import type { StreamState } from '../engine.js';
import { tenantScope } from './api-auth.js';
import { LineSplitter } from './stream-lines.js';
import { failureBody } from './validation.js';

/** Lines taken into one append: one engine call for what arrived together. */
const BATCH = 500;
/** Lines waiting past this pause the upload until the appends catch up. */
const HIGH_WATER = 2000;

/**
 * `POST /api/v1/streams/{id}/upload`: appends each line of a long-lived body as it arrives, in
 * order, and answers once with the outcome: the body ended (`open`), or the stream ended first
 * (`cancelled` by a viewer, ...), which the control channel tells this node at once, wherever
 * the cancel happened. Then the rest of the body is not read and the connection is closed.
 */
export async function streamUpload(node: Node, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const id = (request.params as { id: string }).id;
  const ndjson = (request.headers['content-type'] ?? '').startsWith('application/x-ndjson');
  const streamName = (request.query as { stream?: string }).stream === 'stderr' ? 'stderr' : 'stdout';
  const req = request.raw;
  const res = reply.raw;
  let scope: string | undefined;
  let kind: string;
  let home: string;
  try {
    scope = tenantScope(request, undefined);
    const found = await node.streams.locate(scope, id);
    if (found.state !== 'open') throw new StreamEndedError(id, found.state);
    kind = found.meta.kind;
    home = found.home;
  } catch (err) {
    return void sendStreamFailure(err, reply, node);
  }
  reply.hijack();

  const splitter = new LineSplitter(node.config.streams.maxChunkBytes);
  /** Lines read and not yet appended, with their line numbers. */
  const queue: { text: string; no: number }[] = [];
  let linesRead = 0;
  let chunks = 0;
  let bodyEnded = false;
  /** A line past the limit: answered once the lines before it are appended. */
  let tooLongAt: number | undefined;
  let working = false;
  let done = false;
  // An open upload is a backend that is still there, silent or not: the idle timeout counts from when it goes.
  const keepAlive = setInterval(() => void node.streams.touch(id, home).catch(() => undefined), Math.max(50, node.config.streams.idleTimeout / 3));
  keepAlive.unref();
  const unwatch = node.streams.watch(id, (state: StreamState | 'unavailable') =>
    state === 'unavailable' ? finish(503, { error: unavailable('server shutting down: the stream stays open, upload the rest to another node').toBody(), chunks }) : finish(200, { status: state, chunks }),
  );

  const toMessage = ({ text, no }: { text: string; no: number }): { message: StreamMessage; no: number } | undefined => {
    if (!ndjson) return { message: kind === 'lines' ? { type: 'output', line: text, stream: streamName } : { type: 'token', content: text }, no };
    if (text.trim() === '') return undefined;
    try {
      return { message: JSON.parse(text) as StreamMessage, no };
    } catch {
      throw badRequest(`line ${no}: not valid JSON`, `line.${no}`);
    }
  };

  const work = async () => {
    if (working || done) return;
    working = true;
    try {
      while (queue.length > 0 && !done) {
        const batch = queue.splice(0, BATCH).map(toMessage).filter((m) => m !== undefined);
        if (queue.length < HIGH_WATER / 2 && req.isPaused()) req.resume();
        if (batch.length === 0) continue;
        try {
          await node.streams.append(scope, id, batch.map((m) => m.message), (i) => `line.${batch[i].no}`);
        } catch (err) {
          if (err instanceof StreamEndedError) return finish(200, { status: err.state, chunks });
          throw err;
        }
        chunks += batch.length;
      }
      if (done) return;
      const limit = node.config.streams.maxChunkBytes;
      if (tooLongAt !== undefined) finish(413, { error: new HeraldError('streamTooLarge', `line ${tooLongAt}: longer than streams.maxChunkBytes (${limit} bytes)`, `line.${tooLongAt}`).toBody(), chunks });
      else if (bodyEnded) finish(200, { status: 'open', chunks });
    } catch (err) {
      const { status, error } = failureBody(err, node.logger);
      finish(status, { error, chunks });
    } finally {
      working = false;
    }
  };

  const enqueue = (lines: string[]) => {
    for (const text of lines) queue.push({ text, no: ++linesRead });
  };

  req.on('data', (data: Buffer) => {
    if (done || tooLongAt !== undefined) return;
    const { lines, tooLong } = splitter.push(data);
    enqueue(lines);
    if (tooLong) {
      tooLongAt = linesRead + 1;
      req.pause();
    } else if (queue.length > HIGH_WATER) req.pause();
    void work();
  });
  req.on('end', () => {
    bodyEnded = true;
    const last = splitter.end();
    if (last !== undefined) enqueue([last]);
    void work();
  });
  // The backend went away mid-upload: the stream stays open until it writes again or its idle timeout.
  req.on('aborted', () => finish(0, undefined));
  req.on('error', () => finish(0, undefined));

  function finish(status: number, body: object | undefined): void {
    if (done) return;
    done = true;
    clearInterval(keepAlive);
    unwatch();
    if (status === 0 || res.destroyed) return void req.destroy();
    const complete = req.complete;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...(complete ? {} : { connection: 'close' }) });
    // A body still arriving is not read on: the socket goes once the answer is out.
    res.end(text, () => {
      if (!complete) req.destroy();
    });
  }
}

/** Answers a stream failure; a StreamEndedError with the state the stream ended in. */
export function sendStreamFailure(err: unknown, reply: FastifyReply, node: Node): FastifyReply {
  const { status, error } = failureBody(err, node.logger);
  return reply.code(status).send({ error, ...(err instanceof StreamEndedError ? { state: err.state } : {}) });
}
