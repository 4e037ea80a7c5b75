import type { Identity } from '../auth/identity.js';
import type { RouteConfig } from '../config/schema.js';
import type { Hub } from '../core/hub.js';
import { channelKey } from '../engine.js';
import { channelFor } from './routes.js';

/**
 * Why a route cannot take one more connection of this identity (its `maxConnections` is reached),
 * or undefined when it can. Where the channel keeps presence the count is every node's; otherwise
 * it is this node's own subscribers.
 */
export async function routeFullReason(hub: Hub, route: RouteConfig, channelTemplate: string | undefined, identity: Identity): Promise<string | undefined> {
  const max = route.maxConnections;
  if (max === 0 || channelTemplate === undefined) return undefined;
  const channel = channelFor(channelTemplate, identity);
  const rule = hub.policy.resolve(channel)?.rule;
  const tracked = rule !== undefined && (rule.presence || rule.joinLeave || rule.maxSubscribers > 0);
  const count = tracked ? await hub.engine.presence.count(channelKey(identity.tenant, channel)) : hub.localSubscribers(identity.tenant, channel);
  return count < max ? undefined : `${channel} has its maximum of ${max} connections`;
}
