import { Webhook } from 'standardwebhooks';

/** The Standard Webhooks headers of one request. */
export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs requests the way Standard Webhooks verifiers check them: HMAC-SHA256 over
 * `id.timestamp.body` with the secret's key, as `v1,<base64>`. The `standardwebhooks` package
 * signs, so Herald and the receivers' verifiers share one implementation of the scheme.
 * A retry keeps the id and is signed again with its own timestamp: verifiers refuse
 * timestamps older than five minutes, and retries may come later than that.
 *
 * @example
 * const sign = createSigner('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
 * const headers = sign('msg_01J...', '{"type":"client.connected"}');
 */
export function createSigner(secret: string): (id: string, body: string, at?: Date) => SignedHeaders {
  const webhook = new Webhook(secret);
  return (id, body, at = new Date()) => ({
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhook.sign(id, at, body),
  });
}
