import { CloseCode } from '@herald/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { PusherAppConfig } from '../config/pusher.js';
import { HeraldError } from '../core/errors.js';
import { connectionIdOfNumeric } from '../core/ids.js';
import type { Node, NodeStats } from '../core/node.js';
import type { PublishRequest } from '../core/publishing.js';
import { channelKey } from '../engine.js';
import { issueBody, sendFailure } from '../http/validation.js';
import { PusherApps, tenantOf } from './apps.js';
import { decodedData, isEncrypted, PUSHER_CHANNEL } from './frames.js';
import { md5Hex, requestSigningString, sameSignature, sign } from './signatures.js';

/** How long a channel listing waits for other nodes; a slower node's channels are left out. */
const CLUSTER_TIMEOUT_MS = 1000;

const channelName = z.string().regex(PUSHER_CHANNEL, 'channel names are 1-164 of A-Z a-z 0-9 _ - = @ , . ;');
const socketId = z.string().regex(/^\d+\.\d+$/, 'socket ids are two numbers: 1234.5678');
const eventName = z.string().min(1).max(200);

/** `POST /apps/{id}/events`, as the server SDKs send it (fields they add beyond these are ignored). */
const eventBody = z
  .object({
    name: eventName,
    data: z.string(),
    channels: z.array(channelName).min(1).max(100).optional(),
    channel: channelName.optional(),
    socket_id: socketId.optional(),
    info: z.string().optional(),
  })
  .refine((b) => (b.channels === undefined) !== (b.channel === undefined), { message: 'give channels or channel', path: ['channels'] });

const batchBody = z.object({
  batch: z
    .array(z.object({ name: eventName, data: z.string(), channel: channelName, socket_id: socketId.optional(), info: z.string().optional() }))
    .min(1)
    .max(10),
});

const channelsQuery = z.object({ filter_by_prefix: z.string().max(164).optional(), info: z.string().max(100).optional() });

/** A refusal in the API's error shape, with its status from the error table. */
function refuse(reply: FastifyReply, err: HeraldError): FastifyReply {
  return reply.code(err.kind.status).send({ error: err.toBody() });
}

/**
 * The Pusher Channels HTTP API (docs/pusher.md): events, batches, channel queries, user
 * termination, each request signed with the app's key and secret as the server SDKs sign it.
 * Registered only when an app is configured.
 */
export function pusherRoutes(app: FastifyInstance, node: Node): void {
  const apps = new PusherApps(node.config.pusher);
  if (apps.size === 0) return;
  void app.register(async (scope) => {
    // body_md5 is of the body as sent: kept as text, parsed after the signature is checked.
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    /** The request's app once its signature holds; undefined when it was answered with a refusal. */
    const signedApp = (request: FastifyRequest, reply: FastifyReply): PusherAppConfig | undefined => {
      const found = apps.withId((request.params as { appId: string }).appId);
      if (!found) return void refuse(reply, new HeraldError('notFound', 'Unknown app id'));
      const problem = signatureProblem(found, request, node.config.pusher.timestampTolerance);
      if (problem) {
        node.events.emit('denial', { reason: 'unauthorized', transport: 'pusher-api', detail: problem, tenant: tenantOf(found) });
        return void refuse(reply, new HeraldError('unauthorized', problem));
      }
      return found;
    };

    const parseBody = <T extends z.ZodType>(schema: T, request: FastifyRequest, reply: FastifyReply): z.infer<T> | undefined => {
      let value: unknown;
      try {
        value = JSON.parse(typeof request.body === 'string' ? request.body : '');
      } catch {
        return void refuse(reply, new HeraldError('badRequest', 'body is not valid JSON'));
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) return void reply.code(400).send({ error: issueBody(parsed.error) });
      return parsed.data;
    };

    /** One event of the API as a Herald publish, or the refusal of its size. */
    const publishOf = (target: PusherAppConfig, event: { name: string; data: string; channels: string[]; socket_id?: string | undefined }): PublishRequest | HeraldError => {
      const size = Buffer.byteLength(event.data);
      if (size > target.maxEventBytes) return new HeraldError('tooLarge', `event data is ${size} bytes, more than the app's ${target.maxEventBytes}`, 'data');
      const except = event.socket_id !== undefined ? connectionIdOfNumeric(event.socket_id) : undefined;
      // One publication for every channel: its data decoded once, untouched for an encrypted channel.
      const data = event.channels.some(isEncrypted) ? event.data : decodedData(event.data);
      return { channels: event.channels, event: event.name, data, ...(except ? { audience: { exceptConnections: [except] } } : {}) };
    };

    scope.post('/apps/:appId/events', async (request, reply) => {
      const target = signedApp(request, reply);
      const body = target && parseBody(eventBody, request, reply);
      if (!target || !body) return reply;
      const publish = publishOf(target, { ...body, channels: body.channels ?? [body.channel!] });
      if (publish instanceof HeraldError) return refuse(reply, publish);
      try {
        await node.publish(tenantOf(target), publish, 'api');
        return {};
      } catch (err) {
        return sendFailure(err, reply, node.logger);
      }
    });

    scope.post('/apps/:appId/batch_events', async (request, reply) => {
      const target = signedApp(request, reply);
      const body = target && parseBody(batchBody, request, reply);
      if (!target || !body) return reply;
      const publishes = body.batch.map((e) => publishOf(target, { ...e, channels: [e.channel] }));
      const refused = publishes.find((p) => p instanceof HeraldError);
      if (refused) return refuse(reply, refused);
      try {
        const outcomes = await node.publishMany(publishes.map((request) => ({ tenant: tenantOf(target), request: request as PublishRequest })), 'api');
        const failed = outcomes.find((o) => 'error' in o);
        if (failed && 'error' in failed) return sendFailure(failed.error, reply, node.logger);
        return {};
      } catch (err) {
        return sendFailure(err, reply, node.logger);
      }
    });

    scope.get('/apps/:appId/channels', async (request, reply) => {
      const target = signedApp(request, reply);
      if (!target) return reply;
      const query = channelsQuery.safeParse(request.query);
      if (!query.success) return reply.code(400).send({ error: issueBody(query.error) });
      const prefix = query.data.filter_by_prefix ?? '';
      const info = infoFields(query.data.info);
      if (info.has('user_count') && !prefix.startsWith('presence-')) {
        return refuse(reply, new HeraldError('badRequest', 'info=user_count needs filter_by_prefix=presence-', 'info'));
      }
      const tenant = tenantOf(target);
      try {
        const { answers } = await node.cluster.ask<NodeStats>({ kind: 'stats', tenant }, CLUSTER_TIMEOUT_MS);
        const occupied = new Set(answers.flatMap((a) => a.answer.rooms.filter((r) => r.subscribers > 0).map((r) => r.channel)));
        const channels: Record<string, { user_count?: number }> = {};
        for (const name of [...occupied].filter((c) => c.startsWith(prefix) && PUSHER_CHANNEL.test(c) && !c.startsWith('#')).sort()) {
          channels[name] = info.has('user_count') ? { user_count: (await node.listPresence(channelKey(tenant, name))).length } : {};
        }
        return { channels };
      } catch (err) {
        return sendFailure(err, reply, node.logger);
      }
    });

    scope.get('/apps/:appId/channels/:channelName', async (request, reply) => {
      const target = signedApp(request, reply);
      if (!target) return reply;
      const name = channelName.safeParse((request.params as { channelName: string }).channelName);
      const query = channelsQuery.safeParse(request.query);
      if (!name.success || !query.success) return reply.code(400).send({ error: issueBody((name.error ?? query.error)!) });
      const info = infoFields(query.data.info);
      const presence = name.data.startsWith('presence-');
      if (info.has('user_count') && !presence) return refuse(reply, new HeraldError('badRequest', 'user_count is for presence channels', 'info'));
      const tenant = tenantOf(target);
      try {
        const { answers } = await node.cluster.ask<{ subscribers: number }>({ kind: 'subscribers', tenant, channel: name.data }, CLUSTER_TIMEOUT_MS);
        const subscriptions = answers.reduce((sum, a) => sum + a.answer.subscribers, 0);
        const users = presence ? (await node.listPresence(channelKey(tenant, name.data))).length : undefined;
        return {
          occupied: subscriptions > 0 || (users ?? 0) > 0,
          ...(info.has('user_count') ? { user_count: users } : {}),
          ...(info.has('subscription_count') ? { subscription_count: subscriptions } : {}),
        };
      } catch (err) {
        return sendFailure(err, reply, node.logger);
      }
    });

    scope.get('/apps/:appId/channels/:channelName/users', async (request, reply) => {
      const target = signedApp(request, reply);
      if (!target) return reply;
      const name = channelName.safeParse((request.params as { channelName: string }).channelName);
      if (!name.success) return reply.code(400).send({ error: issueBody(name.error) });
      if (!name.data.startsWith('presence-')) return refuse(reply, new HeraldError('badRequest', 'users are listed for presence channels only', 'channelName'));
      try {
        const users = await node.listPresence(channelKey(tenantOf(target), name.data));
        return { users: users.map((u) => ({ id: u.userId })) };
      } catch (err) {
        return sendFailure(err, reply, node.logger);
      }
    });

    scope.post('/apps/:appId/users/:userId/terminate_connections', async (request, reply) => {
      const target = signedApp(request, reply);
      if (!target) return reply;
      const userId = z.string().min(1).max(128).safeParse((request.params as { userId: string }).userId);
      if (!userId.success) return reply.code(400).send({ error: issueBody(userId.error) });
      try {
        await node.disconnect(tenantOf(target), userId.data, CloseCode.DisconnectedByServer, 'connections terminated by the app');
        return {};
      } catch (err) {
        return sendFailure(err, reply, node.logger);
      }
    });
  });
}

/** `info=user_count,subscription_count` as a set. */
function infoFields(info: string | undefined): Set<string> {
  return new Set((info ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

/** Why a request's signature does not hold, in words for the caller; undefined when it does. */
export function signatureProblem(app: PusherAppConfig, request: FastifyRequest, toleranceMs: number): string | undefined {
  const [path, rawQuery = ''] = request.url.split('?', 2);
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) query[name] = value;
  if (query.auth_key !== app.key) return 'auth_key is not the app key';
  if (query.auth_version !== '1.0') return 'auth_version must be 1.0';
  const timestamp = Number(query.auth_timestamp);
  const now = Date.now() / 1000;
  if (!/^\d{1,12}$/.test(query.auth_timestamp ?? '') || Math.abs(now - timestamp) * 1000 > toleranceMs) {
    return `Timestamp expired: auth_timestamp ${query.auth_timestamp ?? '(none)'} is not within ${Math.round(toleranceMs / 1000)}s of the server's ${Math.floor(now)}`;
  }
  const body = typeof request.body === 'string' ? request.body : '';
  if (body.length > 0 && query.body_md5 !== md5Hex(body)) return 'body_md5 is not the MD5 of the body';
  const expected = sign(app.secret, requestSigningString(request.method, path, query));
  if (!sameSignature(expected, query.auth_signature ?? '')) return 'Invalid signature: HMAC SHA256 of "METHOD\\nPATH\\nSORTED_QUERY" with the app secret';
  return undefined;
}
