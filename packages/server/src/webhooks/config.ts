import { z } from 'zod';
import { Webhook } from 'standardwebhooks';
import { duration } from '../config/duration.js';
import { TENANT_NAME, TENANT_NAME_RULE } from '../core/tenant-name.js';
import { WEBHOOK_TYPES } from './event-types.js';

/** A Standard Webhooks secret: `whsec_` and the key in base64 (at least 16 bytes), as verifier libraries take it. */
const secret = z.string().superRefine((value, ctx) => {
  if (!value.startsWith('whsec_')) return void ctx.addIssue({ code: 'custom', message: 'a webhook secret is "whsec_" followed by the key in base64' });
  const key = Buffer.from(value.slice(6), 'base64');
  if (key.length < 16 || key.toString('base64').replace(/=+$/, '') !== value.slice(6).replace(/=+$/, '')) {
    return void ctx.addIssue({ code: 'custom', message: 'the key after "whsec_" must be base64 of at least 16 bytes' });
  }
  // The library that signs must accept it too.
  new Webhook(value);
});

const url = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });
const tenants = z.array(z.string().regex(TENANT_NAME, TENANT_NAME_RULE)).min(1);
/** Channel patterns as channel rules write them: `city:*`, `order:{id}`, `operators`. */
const channels = z.array(z.string().min(1)).min(1);

export const webhookEndpoint = z.strictObject({
  /** How stats, metrics and logs name the endpoint; default its URL without query or credentials. */
  name: z.string().min(1).max(64).optional(),
  url,
  /** Signs this endpoint's requests; default `webhooks.secret`. */
  secret: secret.optional(),
  /** Only these event types; default every one. */
  events: z.array(z.enum(WEBHOOK_TYPES)).min(1).optional(),
  /** Only events of these tenants; default every tenant. */
  tenants: tenants.optional(),
  /** Only events on a channel matching one of these; events without a channel (connects, disconnects) still pass. */
  channels: channels.optional(),
  /** One request's time to answer. */
  timeout: duration.default(5_000),
  /** Requests to this endpoint at once. */
  concurrency: z.number().int().min(1).max(64).default(4),
  retry: z
    .strictObject({
      /** The wait before the first retry; each retry waits twice as long, up to `maxDelay`. */
      initialDelay: duration.default(1_000),
      maxDelay: duration.default(60_000),
      /** No retry starts later than this after the event: then it has failed. */
      giveUpAfter: duration.default(600_000),
    })
    .prefault({}),
});
export type WebhookEndpointConfig = z.infer<typeof webhookEndpoint>;

export const publishProxy = z.strictObject({
  url,
  secret: secret.optional(),
  /** Client publications to channels matching one of these are checked. */
  channels: channels.default(['*']),
  tenants: tenants.optional(),
  /** How long a client publication waits for the answer. */
  timeout: duration.default(2_000),
  /** No usable answer in time: `refuse` (the client gets `unavailable`, worth a retry) or `allow`. */
  onFailure: z.enum(['refuse', 'allow']).default('refuse'),
});
export type PublishProxyConfig = z.infer<typeof publishProxy>;

/** `webhooks:`: lifecycle events to the backend, and its say on client publications. */
export const webhooksConfig = z
  .strictObject({
    /** The default signing secret of endpoints and publish proxies. */
    secret: secret.optional(),
    endpoints: z.array(webhookEndpoint).default([]),
    /** Checked in order; the first whose channels and tenants match decides. */
    publishProxies: z.array(publishProxy).default([]),
    /** Bounds of each endpoint's queue (waiting, retrying and in flight); past them new events are dropped and counted. */
    queue: z
      .strictObject({
        maxEvents: z.number().int().min(1).default(10_000),
        maxBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const unsigned = (where: 'endpoints' | 'publishProxies') =>
      config[where].forEach((entry, i) => {
        if (!entry.secret && !config.secret) ctx.addIssue({ code: 'custom', path: [where, i, 'secret'], message: 'needs a secret, here or as webhooks.secret' });
      });
    unsigned('endpoints');
    unsigned('publishProxies');
  })
  .prefault({});
export type WebhooksConfig = z.infer<typeof webhooksConfig>;
