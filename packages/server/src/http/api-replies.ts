/**
 * The bodies of the HTTP API's 200 replies, as types taken from the routes' documented schemas:
 * the console (and any TypeScript caller) imports these rather than declaring its own copies.
 *
 * @example
 * import type { OverviewReply } from '@herald/server/api';
 */
import type { z } from 'zod';
import type { signInRoute } from '../console/route-docs.js';
import type { webhookStatsRoute } from '../webhooks/stats-route.js';
import type { channelInfoRoute, channelSearchRoute } from './channel-info.js';
import type { historyRoute, presenceRoute } from './channels.js';
import type { connectionListRoute, lockListRoute } from './connections.js';
import type { overviewRoute } from './overview.js';
import type { batchRoute, publishRoute } from './publish.js';
import type { streamListRoute } from './stream-admin.js';

/** The 200 body of a documented route. */
export type Reply<Route> = Route extends { responses: { 200: { schema: infer S extends z.ZodType } } } ? z.output<S> : never;

export type OverviewReply = Reply<typeof overviewRoute>;
export type WebhookStatsReply = Reply<typeof webhookStatsRoute>;
export type ChannelSearchReply = Reply<typeof channelSearchRoute>;
export type ChannelInfoReply = Reply<typeof channelInfoRoute>;
export type HistoryReply = Reply<typeof historyRoute>;
export type PresenceReply = Reply<typeof presenceRoute>;
export type ConnectionListReply = Reply<typeof connectionListRoute>;
export type LockListReply = Reply<typeof lockListRoute>;
export type StreamListReply = Reply<typeof streamListRoute>;
export type PublishReply = Reply<typeof publishRoute>;
export type BatchPublishReply = Reply<typeof batchRoute>;
/** `POST /console/session` and `GET /console/session`. */
export type ConsoleSessionReply = Reply<typeof signInRoute>;
