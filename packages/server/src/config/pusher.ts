import { z } from 'zod';
import { TENANT_NAME, TENANT_NAME_RULE } from '../core/tenant-name.js';
import { duration } from './duration.js';
import { pusherWebhook } from './pusher-webhooks.js';

/** A string that a `${VAR}` placeholder may have turned into a number (see interpolateEnv). */
const text = z.union([z.string(), z.number().transform(String)]);

/** One app of the Pusher Channels protocol: its credentials and what its clients may do. */
export const pusherApp = z.strictObject({
  /** The app id in `/apps/{id}/...` API paths. */
  id: text.pipe(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'app ids are 1-64 of A-Z a-z 0-9 _ . -')),
  /** The public key clients connect with: `/app/{key}`. */
  key: text.pipe(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'app keys are 1-128 of A-Z a-z 0-9 _ . -')),
  /** Signs channel authorizations, user sign-ins and API requests. */
  secret: text.pipe(z.string().min(8, 'app secrets must be at least 8 characters')),
  /** The Herald tenant the app's channels live in; default the app id. */
  tenant: z.string().regex(TENANT_NAME, TENANT_NAME_RULE).optional(),
  /** Whether clients may send `client-*` events on private and presence channels. */
  clientEvents: z.boolean().default(false),
  /** Client events one connection may send per second (`pusher:error` 4301 past it). */
  clientEventRate: z.number().positive().default(10),
  /** Bytes of an event's `data` (API or client event); past it the API answers 413, a client gets `pusher:error`. */
  maxEventBytes: z.number().int().min(100).default(10_240),
  /** Webhooks in Pusher's format (docs/pusher.md#webhooks), signed with the app's key and secret. */
  webhooks: z.array(pusherWebhook).default([]),
});
export type PusherAppConfig = z.infer<typeof pusherApp>;

/** The Pusher Channels protocol (docs/pusher.md): off while no app is configured. */
export const pusherSection = z
  .strictObject({
    /** WebSocket endpoint prefix: clients connect to `{path}/{key}`. */
    path: z.string().regex(/^\/[^?#{}]*[^/?#{}]$/, 'must start with /, not end with /, and have no query').default('/app'),
    /** Told to clients as `activity_timeout`; the server pings a silent connection this often. */
    activityTimeout: duration.default(120_000),
    /** How far an API request's `auth_timestamp` may be from the server's clock. */
    timestampTolerance: duration.default(600_000),
    apps: z.array(pusherApp).default([]),
  })
  .superRefine((section, ctx) => {
    for (const field of ['id', 'key'] as const) {
      const seen = new Set<string>();
      section.apps.forEach((app, i) => {
        if (seen.has(app[field])) ctx.addIssue({ code: 'custom', path: ['apps', i, field], message: `another app has ${field} ${app[field]}` });
        seen.add(app[field]);
      });
    }
    section.apps.forEach((app, i) => {
      if (!TENANT_NAME.test(app.tenant ?? app.id)) ctx.addIssue({ code: 'custom', path: ['apps', i, 'tenant'], message: `the app id is not a tenant name (${TENANT_NAME_RULE}): give a tenant` });
    });
  })
  .prefault({});
export type PusherConfig = z.infer<typeof pusherSection>;
