import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { waitFor } from './wait.js';

/** A test secret in the Standard Webhooks form. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from('herald-test-webhook-key-0123456789').toString('base64')}`;

/** One request that passed the `standardwebhooks` verifier. */
export interface ReceivedWebhook {
  id: string;
  timestamp: number;
  type: string;
  data: any;
  /** The whole verified payload (`type`, `timestamp`, `data`). */
  payload: any;
}

/**
 * How the receiver answers: `ok` (204), a status (e.g. 500), `hang` (never answers; the
 * request stays open until the receiver closes), or a function giving status and JSON body.
 */
export type ReceiverMode = 'ok' | 'hang' | number | ((webhook: ReceivedWebhook) => { status: number; body?: unknown; delayMs?: number });

/**
 * A real HTTP server that receives webhooks and verifies each with the `standardwebhooks`
 * package, as a backend would. Every attempt is recorded (verified or not) before it is answered
 * as `mode` says; `accepted` holds the ones answered 2xx.
 *
 * @example
 * await using receiver = await startWebhookReceiver();
 * await receiver.waitFor((w) => w.type === 'client.connected');
 */
export async function startWebhookReceiver(secret = TEST_WEBHOOK_SECRET) {
  const verifier = new Webhook(secret);
  const attempts: ReceivedWebhook[] = [];
  const accepted: ReceivedWebhook[] = [];
  const rejected: { headers: IncomingMessage['headers']; body: string; error: string }[] = [];
  const hanging = new Set<ServerResponse>();
  let mode: ReceiverMode = 'ok';

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let payload: any;
      try {
        payload = verifier.verify(body, req.headers as Record<string, string>);
      } catch (err) {
        rejected.push({ headers: req.headers, body, error: (err as Error).message });
        res.writeHead(400).end();
        return;
      }
      const webhook: ReceivedWebhook = { id: String(req.headers['webhook-id']), timestamp: Number(req.headers['webhook-timestamp']), type: payload.type, data: payload.data, payload };
      attempts.push(webhook);
      const current = mode;
      if (current === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (current === 'ok') {
        accepted.push(webhook);
        res.writeHead(204).end();
        return;
      }
      if (typeof current === 'number') {
        if (current < 300) accepted.push(webhook);
        res.writeHead(current).end();
        return;
      }
      const answer = current(webhook);
      const send = () => {
        if (answer.status < 300) accepted.push(webhook);
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;

  const receiver = {
    url,
    secret,
    attempts,
    accepted,
    rejected,
    get mode() {
      return mode;
    },
    set mode(next: ReceiverMode) {
      mode = next;
    },
    /** The accepted webhooks of a type. */
    ofType(type: string): ReceivedWebhook[] {
      return accepted.filter((w) => w.type === type);
    },
    /** Waits for an accepted webhook matching `match`. */
    waitFor(match: (w: ReceivedWebhook) => boolean, what = 'a webhook', timeoutMs = 5000): Promise<ReceivedWebhook> {
      return waitFor(() => accepted.find(match), what, timeoutMs);
    },
    async close(): Promise<void> {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    [Symbol.asyncDispose]() {
      return receiver.close();
    },
  };
  return receiver;
}
export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
