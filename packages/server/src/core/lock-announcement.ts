/**
 * How a channel announces its soft locks: which event each change is published as, and the
 * shape of its data, as a template of the app's own message (seed 004's
 * `{event_type, entity_id, revision, payload}`) rather than Herald's `{name, userId, ...}`.
 */
export interface LockAnnouncement {
  /** The event per change; a change without one is not announced. */
  events: Partial<Record<LockChange, string>>;
  /** The data template; absent: `{name, userId, info?, expiresAt?, reason?}`. */
  data?: unknown;
}

export type LockChange = 'acquired' | 'refreshed' | 'released';

/** What Herald announced before announcements were configurable, and still does by default. */
export const DEFAULT_LOCK_ANNOUNCEMENT: LockAnnouncement = { events: { acquired: 'lock:acquired', released: 'lock:released' } };

/**
 * What a template's `{placeholder}` may name; `last.FIELD` is FIELD of the channel's latest kept
 * publication's data (0 when there is none or it lacks FIELD), for a counter like a revision.
 */
export const LOCK_PLACEHOLDERS = ['name', 'state', 'userId', 'info', 'expiresAt', 'expiresAtLocal', 'reason'] as const;

export interface LockFacts {
  name: string;
  state: LockChange;
  userId: string;
  info?: Record<string, unknown>;
  expiresAt?: number;
  reason?: string;
}

const PLACEHOLDER = /\{([A-Za-z_][\w.]*)\}/g;
const WHOLE = /^\{([A-Za-z_][\w.]*)\}$/;

/** Placeholders a template uses that are neither LOCK_PLACEHOLDERS nor `last.FIELD`. */
export function unknownPlaceholders(template: unknown): string[] {
  const found = new Set<string>();
  walkStrings(template, (text) => {
    for (const m of text.matchAll(PLACEHOLDER)) if (!isKnown(m[1])) found.add(m[1]);
  });
  return [...found];
}

/** `last.FIELD` names the template uses: the announcer reads the channel's latest publication only for them. */
export function lastFields(template: unknown): string[] {
  const fields = new Set<string>();
  walkStrings(template, (text) => {
    for (const m of text.matchAll(PLACEHOLDER)) if (m[1].startsWith('last.')) fields.add(m[1].slice(5));
  });
  return [...fields];
}

/**
 * Fills a template: a string that is one placeholder becomes the value itself (a number stays a
 * number; an absent value drops the key), placeholders inside longer strings become text.
 */
export function fillTemplate(template: unknown, facts: LockFacts, last: Record<string, unknown>): unknown {
  const value = (name: string): unknown => {
    // A counter such as seed 004's revision: 0 before the channel has one, so a client's cursor never reads a gap.
    if (name.startsWith('last.')) return last[name.slice(5)] ?? 0;
    if (name === 'expiresAtLocal') return facts.expiresAt === undefined ? undefined : localTime(facts.expiresAt);
    return facts[name as keyof LockFacts];
  };
  const fill = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const whole = WHOLE.exec(node);
      if (whole) return value(whole[1]);
      return node.replace(PLACEHOLDER, (_m, name: string) => {
        const v = value(name);
        return v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      });
    }
    if (Array.isArray(node)) return node.map(fill).filter((v) => v !== undefined);
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) {
        const v = fill(child);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    return node;
  };
  return fill(template);
}

/** The data of an announcement in the default shape. */
export function defaultLockData(facts: LockFacts): Record<string, unknown> {
  const { name, userId, info, expiresAt, reason } = facts;
  if (facts.state === 'released') return { name, userId, ...(reason ? { reason } : {}) };
  return { name, userId, ...(info ? { info } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) };
}

/** `2026-11-23T09:00:00` in the gateway's time zone (TZ): seed 004 keeps times local, without an offset. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function isKnown(name: string): boolean {
  return (LOCK_PLACEHOLDERS as readonly string[]).includes(name) || /^last\.[A-Za-z_]\w*$/.test(name);
}

function walkStrings(node: unknown, visit: (text: string) => void): void {
  if (typeof node === 'string') visit(node);
  else if (Array.isArray(node)) node.forEach((child) => walkStrings(child, visit));
  else if (node !== null && typeof node === 'object') Object.values(node).forEach((child) => walkStrings(child, visit));
}
