import { createHeraldClient, exponentialBackoff, memoryStorage, type HeraldClient } from '@herald/client';
import { call } from './api.js';

/**
 * The console's own live connections, one per tenant it looks at, through `@herald/client` like
 * any client of the gateway. Each asks the gateway for a short-lived link token (POST
 * /console/link) whenever it (re)connects. The home tenant's link is the one the header shows.
 */
export class Links {
  private readonly clients = new Map<string, HeraldClient>();

  constructor(private readonly websocketPath: string) {}

  get(tenant: string): HeraldClient {
    let client = this.clients.get(tenant);
    if (!client) {
      const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${this.websocketPath}`;
      client = createHeraldClient({
        url,
        token: async () => (await call<{ token: string }>('POST', '/console/link', { body: { tenant } })).token,
        // Nothing kept between page loads: a tail shows what arrives from now on.
        storage: memoryStorage(),
        backoff: exponentialBackoff({ initial: 500, max: 5000 }),
      });
      this.clients.set(tenant, client);
    }
    return client;
  }

  closeAll(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
