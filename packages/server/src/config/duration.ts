import ms from 'ms';
import { z } from 'zod';

/** A duration: milliseconds as a number, or a string such as `30s`, `5m`, `1h`, `250ms`. Parsed to ms. */
export const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const parsed = ms(value as ms.StringValue);
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (try 30s, 5m, 1h or a number of ms)` });
    return z.NEVER;
  }
  return parsed;
});

/** Formats ms for messages and docs: 30000 → "30s". */
export function formatDuration(value: number): string {
  return ms(value);
}
