import type { ChannelRuleConfig, HeraldConfig } from '../config/schema.js';
import type { Identity } from '../auth/identity.js';

type Permission = ChannelRuleConfig['subscribe'];

/** A channel's rule, resolved for one channel name. */
export interface ResolvedRule {
  rule: ChannelRuleConfig;
  /** Values of the pattern's `{name}` placeholders. */
  params: Record<string, string>;
  /** True when no configured rule matched and a default applies. */
  unmatched: boolean;
}

interface CompiledRule {
  rule: ChannelRuleConfig;
  regex: RegExp;
  names: string[];
}

const DEFAULT_RULE: ChannelRuleConfig = {
  pattern: '*',
  subscribe: 'all',
  publish: 'none',
  history: { size: 0, ttl: 0 },
  presence: false,
  joinLeave: false,
  maxSubscribers: 0,
};

/**
 * Compiles `city:*` (any rest), `order:{id}` (one segment without ':') and literals into an
 * anchored regular expression.
 */
export function compilePattern(pattern: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  let source = '';
  for (const part of pattern.split(/(\*|\{[A-Za-z_][A-Za-z0-9_]*\})/)) {
    if (part === '*') source += '.*';
    else if (part.startsWith('{') && part.endsWith('}') && part.length > 2) {
      names.push(part.slice(1, -1));
      source += '([^:]+)';
    } else source += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return { regex: new RegExp(`^${source}$`, 's'), names };
}

function allows(permission: Permission, identity: Identity, params: Record<string, string>): boolean {
  if (permission === 'all') return true;
  if (permission === 'none') return false;
  if (permission === 'owner') return params.userId !== undefined && params.userId === identity.userId;
  if (permission.users?.includes(identity.userId)) return true;
  return permission.roles?.some((r) => identity.roles.includes(r)) ?? false;
}

/** Matches channel names to the configured rules (first match wins) and answers permission questions. */
export class ChannelPolicy {
  private readonly rules: CompiledRule[];
  private readonly cache = new Map<string, ResolvedRule | null>();
  private readonly unmatchedAllowed: boolean;

  constructor(config: HeraldConfig, private readonly cacheSize = 10_000) {
    this.rules = config.channels.rules.map((rule) => ({ rule, ...compilePattern(rule.pattern) }));
    this.unmatchedAllowed = config.channels.unmatched === 'allow';
  }

  /** The rule for a channel, or undefined when none matches and unmatched channels are denied. */
  resolve(channel: string): ResolvedRule | undefined {
    const cached = this.cache.get(channel);
    if (cached !== undefined) return cached ?? undefined;
    let resolved: ResolvedRule | null = null;
    for (const { rule, regex, names } of this.rules) {
      const m = regex.exec(channel);
      if (!m) continue;
      const params: Record<string, string> = {};
      names.forEach((name, i) => (params[name] = m[i + 1]));
      resolved = { rule, params, unmatched: false };
      break;
    }
    if (!resolved && this.unmatchedAllowed) resolved = { rule: DEFAULT_RULE, params: {}, unmatched: true };
    if (this.cache.size >= this.cacheSize) this.cache.clear();
    this.cache.set(channel, resolved);
    return resolved ?? undefined;
  }

  /** The rule to subscribe with, or undefined when the identity may not subscribe. */
  forSubscribe(channel: string, identity: Identity): ResolvedRule | undefined {
    const resolved = this.resolve(channel);
    const tokenGrant = identity.channels.some((c) => c === channel || (c.endsWith('*') && channel.startsWith(c.slice(0, -1))));
    if (resolved && (tokenGrant || allows(resolved.rule.subscribe, identity, resolved.params))) return resolved;
    if (tokenGrant) return { rule: DEFAULT_RULE, params: {}, unmatched: true };
    return undefined;
  }

  /** Whether a client connection may publish to the channel. */
  canPublish(channel: string, identity: Identity): boolean {
    const resolved = this.resolve(channel);
    return resolved !== undefined && allows(resolved.rule.publish, identity, resolved.params);
  }

  /** Whether a connection may cancel the channel's open streams (docs/streams.md). */
  canCancel(channel: string, identity: Identity): boolean {
    const resolved = this.resolve(channel);
    return resolved !== undefined && allows(resolved.rule.cancel ?? 'none', identity, resolved.params);
  }

  /** Whether a connection with these roles receives this event on the channel (`eventRoles`). */
  static eventAllowed(rule: ChannelRuleConfig, event: string, roles: readonly string[]): boolean {
    const only = rule.eventRoles?.[event];
    return !only || only.some((r) => roles.includes(r));
  }
}
