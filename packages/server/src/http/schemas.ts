import { channelNameProblem, ErrorCode, MAX_CHANNEL_LENGTH } from '@herald/protocol';
import { z } from 'zod';
import { TENANT_NAME, TENANT_NAME_RULE } from '../core/tenant-name.js';

/** Zod schemas shared by several routes; the OpenAPI document is generated from them too. */

export const tenantName = z
  .string()
  .regex(TENANT_NAME, TENANT_NAME_RULE)
  .meta({ description: 'Tenant to act on. A tenant-bound API key may only name its own; without it the key\'s tenant or the default one.' });

/** A channel name as `@herald/protocol` defines it; the protocol's own check gives the message. */
export const channelName = z
  .string()
  .superRefine((name, ctx) => {
    const problem = channelNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: name });
  })
  .min(1)
  .max(MAX_CHANNEL_LENGTH)
  .meta({ description: `1-${MAX_CHANNEL_LENGTH} characters, no control characters, not starting with $.`, examples: ['operators', 'city:Саратов'] });

/** `{ error: { code, message, field? } }`, the body of every error answer. */
export const errorResponse = z.object({
  error: z.object({
    code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    field: z.string().optional().meta({ description: 'For validation errors: the offending field, e.g. `channels.2` or `limit`.' }),
  }),
});

export const audience = z
  .strictObject({
    roles: z.array(z.string()).optional().meta({ description: 'Only connections holding one of these roles.' }),
    users: z.array(z.string()).optional().meta({ description: 'Only these user ids.' }),
  })
  // An empty audience is ambiguous (everyone, or no one?), so it is refused rather than guessed.
  .refine((a) => a.roles !== undefined || a.users !== undefined, 'audience needs roles or users')
  .meta({ description: 'Narrows who in the channel receives the publication: connections with one of `roles` or among `users`. Give at least one.' });

export const publication = z.object({
  id: z.string().meta({ description: 'Unique and sortable (ULID); one id for every channel of a multi-channel publish.' }),
  channel: z.string(),
  event: z.string(),
  data: z.unknown().optional().meta({ description: 'Any JSON; absent when the publication was made without data.' }),
  offset: z.number().int().meta({ description: 'Increases by one per publication of the channel inside an epoch.' }),
  epoch: z.string(),
  ts: z.number().int().meta({ description: 'Milliseconds since the Unix epoch, set by the gateway.' }),
  publisher: z
    .object({ userId: z.string(), info: z.record(z.string(), z.unknown()).optional() })
    .optional()
    .meta({ description: "Who published it, when a client did: the user and display info of its verified token. Absent on the API's publications." }),
});

export const recoveryResult = z.object({
  recovered: z.boolean(),
  reason: z.enum(['epoch_changed', 'history_trimmed', 'no_history', 'unknown_id', 'offset_ahead']).optional(),
  missing: z.object({ from: z.number().int(), to: z.number().int() }).optional().meta({ description: 'Offsets missed that cannot be replayed, inclusive.' }),
  replayed: z.number().int(),
});

export const presenceUser = z.object({
  userId: z.string(),
  connections: z.number().int().meta({ description: "How many of the user's connections are subscribed." }),
  info: z.record(z.string(), z.unknown()).optional().meta({ description: 'Display info from the token, as `auth.claims.info` maps it.' }),
});

/** Path parameters of `/api/v1/channels/:channel/...`; fastify has already URL-decoded them. */
export const channelParams = z.strictObject({ channel: channelName });

/** Query of routes that only take a tenant. */
export const tenantQuery = z.strictObject({ tenant: tenantName.optional() });
