import type { RouteConfig } from '../config/schema.js';
import { compilePattern } from '../core/channel-policy.js';
import type { RouteLimit } from '../core/handshake.js';

export interface RouteMatch {
  route: RouteConfig;
  /** The channel the route subscribes, filled from the path; undefined for a route without one. */
  channel?: string;
}

/** Matches upgrade paths to configured route templates (`/ws/projects/{project_id}`). */
export class RouteTable {
  private readonly compiled: { route: RouteConfig; regex: RegExp; names: string[] }[];

  constructor(routes: RouteConfig[]) {
    this.compiled = routes.map((route) => {
      // In paths a placeholder is one path segment: no '/'.
      const { regex, names } = compilePattern(route.path);
      return { route, regex: new RegExp(regex.source.replaceAll('([^:]+)', '([^/]+)'), regex.flags), names };
    });
  }

  match(pathname: string): RouteMatch | undefined {
    for (const { route, regex, names } of this.compiled) {
      const m = regex.exec(pathname);
      if (!m) continue;
      const params: Record<string, string> = {};
      try {
        names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      } catch {
        // Broken percent-encoding (`%E0%A4%A`) matches no route; thrown here it would escape the upgrade handler.
        return undefined;
      }
      // Placeholders that are not path parameters ({userId}, {tenant}) are filled per identity.
      const channel = route.channel?.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => params[name] ?? whole);
      return { route, ...(channel !== undefined ? { channel } : {}) };
    }
    return undefined;
  }
}

/** Fills a route channel's identity placeholders: `tasks:{userId}` → `tasks:alice`. */
export function channelFor(channel: string, identity: { userId: string; tenant: string }): string {
  return channel.replaceAll('{userId}', identity.userId).replaceAll('{tenant}', identity.tenant);
}

/** The route's connection limit for this identity, when the route has a channel. */
export function routeLimitFor(route: RouteMatch | undefined, identity: { userId: string; tenant: string }): RouteLimit | undefined {
  return route?.channel !== undefined ? { route: route.route, channel: channelFor(route.channel, identity) } : undefined;
}
