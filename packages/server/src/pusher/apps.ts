import type { Identity } from '../auth/identity.js';
import type { PusherAppConfig, PusherConfig } from '../config/pusher.js';
import { newPublicationId } from '../core/ids.js';

/** The configured Pusher apps, found by key (connections) or id (the HTTP API). */
export class PusherApps {
  private readonly byKey = new Map<string, PusherAppConfig>();
  private readonly byId = new Map<string, PusherAppConfig>();

  constructor(config: PusherConfig) {
    for (const app of config.apps) {
      this.byKey.set(app.key, app);
      this.byId.set(app.id, app);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  withKey(key: string): PusherAppConfig | undefined {
    return this.byKey.get(key);
  }

  withId(id: string): PusherAppConfig | undefined {
    return this.byId.get(id);
  }
}

/** The Herald tenant of an app's channels. */
export function tenantOf(app: PusherAppConfig): string {
  return app.tenant ?? app.id;
}

/**
 * Who a Pusher connection is before it signs in: nobody in particular, so a user of its own
 * (the per-user connection limit does not group strangers) with no roles.
 */
export function anonymousIdentity(app: PusherAppConfig): Identity {
  return { userId: `pusher-anonymous-${newPublicationId()}`, tenant: tenantOf(app), roles: [], info: {}, channels: [] };
}
