import type { HeraldConfigInput } from './schema.js';

/** Signs dev tokens when no secret is configured. Never used when NODE_ENV=production. */
export const DEV_JWT_SECRET = 'herald-dev-secret-do-not-use-in-production';
/** Accepted by the HTTP API when no key is configured. Never used when NODE_ENV=production. */
export const DEV_API_KEY = 'herald-dev-api-key';
/** Signs in to the console of `npm start` without a configuration. Never used when NODE_ENV=production. */
export const DEV_CONSOLE_PASSWORD = 'herald-dev-console';

/**
 * What `npm start` runs with when there is no config file: every authenticated user may
 * subscribe and publish anywhere in their tenant, with history and presence, so that the
 * gateway can be tried at once; admins (role `admin`) can watch the audit feed.
 */
export const devConfig: HeraldConfigInput = {
  channels: {
    rules: [
      {
        pattern: '*',
        subscribe: 'all',
        publish: 'all',
        history: { size: 100, ttl: '5m' },
        presence: true,
        joinLeave: true,
      },
    ],
  },
  // The default tenant's admins watch every tenant's events on /ws/audit.
  audit: { enabled: true, operatorTenant: 'default' },
};
