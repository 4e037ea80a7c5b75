import { z } from 'zod';
import { TENANT_NAME, TENANT_NAME_RULE } from '../core/tenant-name.js';
import { duration } from './duration.js';

/** A string that a `${VAR}` placeholder may have turned into a number (see interpolateEnv). */
const text = z.union([z.string(), z.number().transform(String)]);

/**
 * The web console at `/console` (docs/console.md). Off unless enabled; `npm start` without a
 * configuration turns it on with a dev password (see config/load.ts).
 */
export const consoleSection = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** A password that signs in as an operator (every tenant); without it only admin tokens sign in. */
    password: text.pipe(z.string().min(12, 'the console password must be at least 12 characters')).optional(),
    /** The role a client JWT must carry to sign in to the console. */
    adminRole: z.string().min(1).default('admin'),
    /** Admins of this tenant see every tenant; admins of another tenant only their own. Default: `tenants.default`. */
    operatorTenant: z.string().regex(TENANT_NAME, TENANT_NAME_RULE).optional(),
    /** How long a console session lasts after sign-in. */
    sessionTtl: duration.default(8 * 3_600_000),
    /**
     * Signs session cookies and link tokens. Set the same value on every node of a cluster; without
     * it each process makes its own at start, and sessions last until it restarts.
     */
    secret: text.pipe(z.string().min(32, 'the console secret must be at least 32 characters')).optional(),
    /** The directory of the built console; default the console package's `dist` next to the server's. */
    assets: z.string().min(1).optional(),
  })
  .prefault({});
