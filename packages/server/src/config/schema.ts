import { DATA_DEPTH_CEILING, DEFAULT_MAX_DATA_BYTES, DEFAULT_MAX_DATA_DEPTH, eventNameProblem } from '@herald/protocol';
import { z } from 'zod';
import { consoleSection } from './console.js';
import { duration } from './duration.js';
import { pusherSection } from './pusher.js';
import { streamsConfig } from './streams.js';
import { checkRedisTopology, redisTopologyFields } from './redis-topology.js';
import { LOCK_PLACEHOLDERS, unknownPlaceholders } from '../core/lock-announcement.js';
import { TENANT_NAME, TENANT_NAME_RULE } from '../core/tenant-name.js';
import { webhooksConfig } from '../webhooks/config.js';
import { auditConfig } from '../audit/config.js';

/** A string that a `${VAR}` placeholder may have turned into a number (see interpolateEnv). */
const text = z.union([z.string(), z.number().transform(String)]);

const roleList = z.array(z.string().min(1)).min(1);

/**
 * Who may do something on a channel: `all` (any authenticated connection), `none`, `owner`
 * (the pattern's `{userId}` equals the connection's user id), or roles and users.
 */
export const permission = z.union([
  z.enum(['all', 'none', 'owner']),
  z.strictObject({ roles: roleList.optional(), users: z.array(z.string()).optional() }),
]);

const announcedEvent = z.string().superRefine((name, ctx) => {
  const problem = eventNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * How lock changes are announced on the channel (see core/lock-announcement.ts): the event of
 * each change (one left out is not announced) and a template of the data, whose `{name}`,
 * `{state}`, `{userId}`, `{info}`, `{expiresAt}`, `{expiresAtLocal}`, `{reason}` and
 * `{last.FIELD}` are filled in.
 */
const lockAnnouncement = z.strictObject({
  events: z.strictObject({ acquired: announcedEvent.optional(), refreshed: announcedEvent.optional(), released: announcedEvent.optional() }),
  data: z
    .unknown()
    .superRefine((template, ctx) => {
      const unknown = unknownPlaceholders(template);
      if (unknown.length > 0) {
        ctx.addIssue({ code: 'custom', message: `unknown placeholder(s) ${unknown.map((n) => `{${n}}`).join(', ')}: use ${LOCK_PLACEHOLDERS.map((n) => `{${n}}`).join(', ')} or {last.FIELD}` });
      }
    })
    .optional(),
});

export const channelRule = z.strictObject({
  /** `operators`, `city:*` (any rest), `order:{id}` (one segment without ':'), `operator:{userId}` (the owner). */
  pattern: z.string().min(1),
  subscribe: permission.default('all'),
  /** Who may publish from a client connection. The HTTP API may always publish. */
  publish: permission.default('none'),
  /** Who may cancel the channel's open streams (docs/streams.md); absent is `none`. */
  cancel: permission.optional(),
  history: z
    .strictObject({ size: z.number().int().min(0).max(100_000).default(0), ttl: duration.default(300_000) })
    .default({ size: 0, ttl: 300_000 }),
  presence: z.boolean().default(false),
  joinLeave: z.boolean().default(false),
  /** Connections subscribed at once, across nodes; 0 is unlimited. */
  maxSubscribers: z.number().int().min(0).default(0),
  /** Events delivered only to some roles, whatever the publication's own audience says. */
  eventRoles: z.record(z.string(), roleList).optional(),
  /**
   * Ephemeral signals: `{start event: end event}`. When a client that published a start event
   * disconnects before publishing its end event, the gateway publishes the end event for it.
   */
  signals: z.record(z.string(), z.string().min(1)).optional(),
  /**
   * Soft locks on this channel (`lock` / `unlock` requests): held while the holder's connection
   * lives (refreshed every third of `ttl`), released when it leaves or after `ttl` without refresh.
   * `announce` sets how changes are published; default `lock:acquired` and `lock:released`.
   */
  locks: z.strictObject({ ttl: duration.default(120_000), announce: lockAnnouncement.optional() }).optional(),
});
export type ChannelRuleConfig = z.infer<typeof channelRule>;

export const route = z.strictObject({
  /** URL template, e.g. `/ws/projects/{project_id}`. */
  path: z.string().regex(/^\/[^?#]*$/, 'must start with / and have no query'),
  /** Channel template filled from the path, e.g. `project:{project_id}`. Omit for a route that subscribes nothing. */
  channel: z.string().min(1).optional(),
  /** `envelope`: the full publication frame; `data`: only the publication's data, as the app's own JSON. */
  format: z.enum(['envelope', 'data']).default('envelope'),
  /** Connections to one channel of this route at once (HTTP 503 past it); 0 is unlimited. */
  maxConnections: z.number().int().min(0).default(50),
  /** Send app-level `{"type":"ping"}` frames on this route. Off by default for `data` routes. */
  appPing: z.boolean().optional(),
  /**
   * Pings in a row left unanswered (nothing from the client within `heartbeat.timeout` of each)
   * that end a connection of this route with 4010. Default 1: closed after one unanswered ping.
   */
  missedPings: z
    .number({ error: 'expected a whole number of pings, 1 to 10' })
    .int('expected a whole number of pings, 1 to 10')
    .min(1, 'at least 1: the connection ends after that many unanswered pings in a row')
    .max(10, 'at most 10: more would keep a dead connection for minutes')
    .optional(),
  /**
   * The token must come with the upgrade (`?token=` or `Authorization: Bearer`); without one the
   * connection closes with 4001 at once. Default: on for `data` routes, whose clients send no
   * connect frame; off for `envelope` routes, which may authenticate in band.
   */
  tokenInUrl: z.boolean().optional(),
  /**
   * Resume by a field of the app's own data: the client sends `{"type": <frame>, <field>: N}`
   * (e.g. `{"type":"HELLO","revision":41}`) and gets the kept publications whose `data[field]`
   * is above N, then live ones. Until that frame (or `auth.connectTimeout`) nothing is sent.
   */
  resume: z.strictObject({ frame: z.string().min(1), field: z.string().min(1) }).optional(),
});
export type RouteConfig = z.infer<typeof route>;

/**
 * A REST alias that publishes one event: `POST /api/v1/broadcast/{name}` with a body such as
 * seed 001's `{token, call: {...}, rooms: [...]}`.
 */
export const broadcastAlias = z.strictObject({
  /** The path segment after `/api/v1/broadcast/`, e.g. `call-new`. */
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'names are 1-64 of A-Z a-z 0-9 _ . -'),
  /** The event published, e.g. `call:new`. */
  event: z.string().min(1),
  /** The body field carrying the event's data (e.g. `call`); without it, `data`, or the whole body less token, rooms and tenant. */
  payload: z.string().optional(),
  /** Channels used when the body gives no `rooms`. */
  rooms: z.array(z.string()).default([]),
});
export type BroadcastAlias = z.infer<typeof broadcastAlias>;

export const apiKey = z.strictObject({
  key: text.pipe(z.string().min(8, 'API keys must be at least 8 characters')),
  /** Restrict the key to one tenant; absent means every tenant. */
  tenant: z.string().regex(TENANT_NAME, TENANT_NAME_RULE).optional(),
  name: z.string().optional(),
});

const tenantName = z.string().regex(TENANT_NAME, TENANT_NAME_RULE);

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      port: z.number().int().min(0).max(65535).default(5009),
      host: z.string().default('0.0.0.0'),
      /** Allowed `Origin`s for WebSocket upgrades and CORS; empty allows any. */
      corsOrigins: z.array(z.string()).default([]),
      /** How long shutdown waits for clients and requests to finish. */
      shutdownTimeout: duration.default(10_000),
      /** Largest HTTP request body. */
      bodyLimit: z.number().int().positive().default(1_048_576),
    })
    .prefault({}),
  auth: z
    .strictObject({
      jwt: z
        .strictObject({
          secret: text.pipe(z.string().min(1)).optional(),
          publicKey: z.string().min(1).optional(),
          jwksUrl: z.url().optional(),
          algorithms: z.array(z.string()).optional(),
          issuer: z.string().optional(),
          audience: z.string().optional(),
          /** Tolerated clock difference. */
          clockTolerance: duration.default(5_000),
        })
        .prefault({}),
      /** Where identity comes from in the token. Dotted paths reach into nested claims. */
      claims: z
        .strictObject({
          userId: z.string().default('sub'),
          tenant: z.string().default('tenant'),
          roles: z.string().default('roles'),
          /** Claims copied into presence info. */
          info: z.array(z.string()).default(['name']),
          /** A claim listing channels the token may subscribe to. */
          channels: z.string().default('channels'),
        })
        .prefault({}),
      /** How long a connection may stay without authenticating. */
      connectTimeout: duration.default(10_000),
    })
    .prefault({}),
  api: z
    .strictObject({
      keys: z.array(apiKey).default([]),
      /** Serve `/api/v1/stats/*` without a key (seed 001's monitoring does). */
      publicStats: z.boolean().default(false),
      /** How long an idempotency key is remembered. */
      idempotencyTtl: duration.default(300_000),
      /** REST aliases: `POST /api/v1/broadcast/{name}`. */
      broadcasts: z.array(broadcastAlias).default([]),
    })
    .prefault({}),
  tenants: z
    .strictObject({
      /** The tenant of tokens without a tenant claim and of API calls without `tenant`. */
      default: tenantName.default('default'),
      /** Refuse tokens without a tenant claim. */
      requireClaim: z.boolean().default(false),
    })
    .prefault({}),
  channels: z
    .strictObject({
      /** What happens to channels no rule matches. */
      unmatched: z.enum(['deny', 'allow']).default('deny'),
      rules: z.array(channelRule).default([]),
      /** How long a channel's epoch and offset outlive its last publication. */
      historyMetaTtl: duration.default(86_400_000),
    })
    .prefault({}),
  routes: z.array(route).default([]),
  socketio: z
    .strictObject({
      enabled: z.boolean().default(true),
      path: z.string().regex(/^\//).default('/socket.io'),
      /**
       * Namespaces clients may connect to, e.g. `/ws/dashboard`; others get `Invalid namespace`.
       * An object form also joins every socket to channels at connect (`{userId}` and `{tenant}` are filled in).
       */
      namespaces: z
        .array(
          z.union([
            z.string().regex(/^\//, 'namespaces start with /'),
            z.strictObject({ name: z.string().regex(/^\//, 'namespaces start with /'), channels: z.array(z.string().min(1)).default([]) }),
          ]),
        )
        .default(['/']),
      /** Allow HTTP long-polling as well as WebSocket (polling needs sticky sessions across nodes). */
      polling: z.boolean().default(true),
      /** How long a disconnected client can come back and get what it missed (socket.io connection state recovery); 0 turns it off. */
      recoveryWindow: duration.default(120_000),
    })
    .prefault({}),
  /** The plain WebSocket endpoint. */
  websocket: z
    .strictObject({
      path: z.string().default('/ws'),
    })
    .prefault({}),
  limits: z
    .strictObject({
      connectionsPerUser: z.number().int().min(0).default(5),
      /** 0 is unlimited. */
      connectionsPerTenant: z.number().int().min(0).default(0),
      subscriptionsPerConnection: z.number().int().min(1).default(100),
      maxMessageBytes: z.number().int().min(1024).default(65_536),
      /** Levels of arrays and objects a publication's `data` may nest (400 / `bad_request` past it). */
      maxDataDepth: z.number().int().min(1).max(DATA_DEPTH_CEILING).default(DEFAULT_MAX_DATA_DEPTH),
      /** Bytes of a publication's `data` as UTF-8 JSON, from the API or a client (400 / `bad_request` past it). */
      maxDataBytes: z.number().int().min(1024).default(DEFAULT_MAX_DATA_BYTES),
      /** Fragments one WebSocket message may arrive in (close 1008 past it). */
      maxFragments: z.number().int().min(1).default(128),
      messageRate: z
        .strictObject({ perSecond: z.number().positive().default(50), burst: z.number().int().positive().default(100) })
        .prefault({}),
      /** A connection whose unsent data passes this is closed as a slow consumer. */
      sendQueueBytes: z.number().int().min(1024).default(1_048_576),
    })
    .prefault({}),
  heartbeat: z
    .strictObject({
      interval: duration.default(30_000),
      timeout: duration.default(10_000),
      appPing: z.boolean().default(true),
    })
    .prefault({}),
  presence: z
    .strictObject({
      /** Send `user:online` / `user:offline` to every connection of the tenant. */
      userEvents: z.boolean().default(true),
    })
    .prefault({}),
  engine: z
    .strictObject({
      type: z.enum(['memory', 'redis']).default('memory'),
      redis: z
        .strictObject({
          url: z.string().optional(),
          host: z.string().optional(),
          port: z.number().int().min(1).max(65535).optional(),
          password: text.optional(),
          prefix: z.string().default('herald:'),
          /** How long a crashed node's presence and connection counts stay visible. */
          presenceTtl: duration.default(30_000),
          /** A Redis command without a reply within this fails (publish answers 503). */
          commandTimeout: duration.default(1_000),
          ...redisTopologyFields,
        })
        .superRefine(checkRedisTopology)
        .prefault({}),
    })
    .prefault({}),
  webhooks: webhooksConfig,
  audit: auditConfig,
  console: consoleSection,
  pusher: pusherSection,
  streams: streamsConfig,
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
});

export type HeraldConfig = z.infer<typeof configSchema>;
export type HeraldConfigInput = z.input<typeof configSchema>;
