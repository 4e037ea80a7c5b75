import { compilePattern } from '../core/channel-policy.js';
import { WEBHOOK_TYPES, type WebhookType } from './event-types.js';
import type { WebhookEvent } from './lifecycle-events.js';

/** What an endpoint (or a publish proxy) asks for: types, tenants, channel patterns; absent means all. */
export interface FilterConfig {
  events?: readonly WebhookType[];
  tenants?: readonly string[];
  channels?: readonly string[];
}

/** A compiled filter: which types it takes, and whether an event (or a tenant and channel) passes. */
export class EventFilter {
  readonly types: ReadonlySet<WebhookType>;
  private readonly tenants: ReadonlySet<string> | undefined;
  private readonly patterns: RegExp[] | undefined;

  constructor(config: FilterConfig) {
    this.types = new Set(config.events ?? WEBHOOK_TYPES);
    this.tenants = config.tenants ? new Set(config.tenants) : undefined;
    this.patterns = config.channels?.map((p) => compilePattern(p).regex);
  }

  /** Types, tenant, then channels: an event with channels passes when one of them matches; one without channels always does. */
  passes(event: WebhookEvent): boolean {
    return this.types.has(event.type) && this.matches(event.tenant, event.channels);
  }

  matches(tenant: string, channels: readonly string[]): boolean {
    if (this.tenants && !this.tenants.has(tenant)) return false;
    if (!this.patterns || channels.length === 0) return true;
    return channels.some((channel) => this.patterns!.some((re) => re.test(channel)));
  }
}
