import { z } from 'zod';
import { duration } from './duration.js';

/** Limits of backend streams (docs/streams.md). */
export const streamsConfig = z
  .strictObject({
    /** Bytes of one chunk as UTF-8 JSON (413 past it). */
    maxChunkBytes: z.number().int().min(64).max(1_048_576).default(16_384),
    /** Bytes of a stream's coalesced text, the snapshot a joiner gets (413 past it). */
    maxStreamBytes: z.number().int().min(1024).max(64 * 1_048_576).default(1_048_576),
    /** A stream with no write for this long ends as failed: its backend is taken to be gone. */
    idleTimeout: duration.default(60_000),
    /** How long an ended stream is remembered, so that a late write gets 409 rather than 404. */
    retention: duration.default(600_000),
  })
  .prefault({});
