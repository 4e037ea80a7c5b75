import type { WebhookType } from './event-types.js';
import type { WebhookEvent } from './lifecycle-events.js';

/**
 * The body an event is sent as, or undefined when the format has nothing to say about it.
 * Endpoints that share an encoder share one body per event.
 */
export type WebhookEncoder = (event: WebhookEvent) => string | undefined;

/**
 * What one endpoint needs from its format: which events it takes, how they are encoded and how
 * each attempt is signed. The queue, retries and bounds around it are the same for every format.
 */
export interface EndpointSpec {
  /** How stats, metrics and logs name it. */
  name: string;
  /** Where requests go (its query included). */
  url: string;
  /** The event names its stats list, in the format's own words. */
  events: readonly string[];
  filter: { readonly types: ReadonlySet<WebhookType>; passes(event: WebhookEvent): boolean };
  encode: WebhookEncoder;
  /** The headers of one attempt at sending `body` (retries are signed again). */
  sign(id: string, body: string): Record<string, string>;
  timeout: number;
  concurrency: number;
  retry: { initialDelay: number; maxDelay: number; giveUpAfter: number };
}
