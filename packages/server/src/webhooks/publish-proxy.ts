import { z } from 'zod';
import { newPublicationId } from '../core/ids.js';
import type { ClientPublication, PublishGuard, PublishVerdict } from '../core/publish-guard.js';
import type { Logger } from '../logger.js';
import type { PublishProxyConfig } from './config.js';
import { displayUrl } from './endpoint-name.js';
import { EventFilter } from './filter.js';
import { postJson } from './post.js';
import { createSigner } from './signer.js';

/** The largest answer read: a rewrite's data is bounded far below it by `limits.maxDataBytes`. */
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;
/** The longest refusal reason passed on to the client. */
const MAX_REASON = 200;

/** The backend's answer: allow, refuse with a reason, or rewrite the data. An empty 2xx body allows. */
const answer = z.discriminatedUnion('action', [
  z.object({ action: z.literal('allow') }),
  z.object({ action: z.literal('refuse'), reason: z.string().optional() }),
  z.object({ action: z.literal('rewrite'), data: z.unknown() }),
]);

export interface ProxyStats {
  url: string;
  allowed: number;
  refused: number;
  rewritten: number;
  /** No usable answer in time; `onFailure` applied. */
  failed: number;
}

export type ProxyOutcome = 'allowed' | 'refused' | 'rewritten' | 'failed';

interface Proxy {
  config: PublishProxyConfig;
  filter: EventFilter;
  sign: ReturnType<typeof createSigner>;
  stats: ProxyStats;
}

/**
 * The backend's say on client publications (as Centrifugo's publish proxy): a publication to a
 * channel a proxy covers is POSTed there, signed as webhooks are, and waits up to the proxy's
 * `timeout` for `{action: allow | refuse | rewrite}`. Without a usable answer `onFailure` decides.
 */
export class PublishProxy implements PublishGuard {
  private readonly proxies: Proxy[];

  constructor(
    configs: readonly PublishProxyConfig[],
    defaultSecret: string | undefined,
    private readonly logger: Logger,
    /** The node's data check (depth and size): a rewrite must pass it as a client's data would. */
    private readonly dataProblem: (data: unknown) => string | undefined,
    private readonly count?: (outcome: ProxyOutcome) => void,
  ) {
    this.proxies = configs.map((config) => ({
      config,
      filter: new EventFilter({ tenants: config.tenants, channels: config.channels }),
      sign: createSigner((config.secret ?? defaultSecret)!),
      stats: { url: displayUrl(config.url), allowed: 0, refused: 0, rewritten: 0, failed: 0 },
    }));
  }

  stats(): ProxyStats[] {
    return this.proxies.map((p) => ({ ...p.stats }));
  }

  async check(publication: ClientPublication): Promise<PublishVerdict> {
    const proxy = this.proxies.find((p) => p.filter.matches(publication.connection.tenant, [publication.channel]));
    if (!proxy) return { action: 'allow' };
    const { connection, info, channel, event, data } = publication;
    const body = JSON.stringify({
      type: 'client.publish',
      timestamp: new Date().toISOString(),
      data: { ...connection, ...(Object.keys(info).length > 0 ? { info } : {}), channel, event, data: data ?? null },
    });
    const id = `msg_${newPublicationId()}`;
    const posted = await postJson(proxy.config.url, body, { ...proxy.sign(id, body) }, proxy.config.timeout, { maxResponseBytes: MAX_ANSWER_BYTES });
    const verdict = posted.ok ? this.read(posted.body) : { problem: posted.reason };
    if ('problem' in verdict) return this.failed(proxy, id, verdict.problem);
    this.tally(proxy, verdict.action === 'allow' ? 'allowed' : verdict.action === 'refuse' ? 'refused' : 'rewritten');
    return verdict;
  }

  private read(text: string): PublishVerdict | { problem: string } {
    if (text.trim() === '') return { action: 'allow' };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { problem: 'answer is not JSON' };
    }
    const parsed = answer.safeParse(json);
    if (!parsed.success) return { problem: 'answer is not {action: allow | refuse | rewrite}' };
    const a = parsed.data;
    if (a.action === 'refuse') {
      // Shown to the client: short, and without control characters.
      const reason = (a.reason ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim().slice(0, MAX_REASON);
      return { action: 'refuse', reason: reason ? `refused by the backend: ${reason}` : 'refused by the backend' };
    }
    if (a.action === 'rewrite') {
      const problem = this.dataProblem(a.data);
      return problem ? { problem: `rewritten data refused: ${problem}` } : { action: 'rewrite', data: a.data };
    }
    return { action: 'allow' };
  }

  private failed(proxy: Proxy, id: string, problem: string): PublishVerdict {
    this.tally(proxy, 'failed');
    const onFailure = proxy.config.onFailure;
    this.logger.warn({ event: 'publish_proxy_failed', proxy: proxy.stats.url, webhookId: id, reason: problem, onFailure }, 'publish proxy gave no usable answer');
    return onFailure === 'allow' ? { action: 'allow' } : { action: 'unchecked', reason: 'the publication could not be checked now; try again' };
  }

  private tally(proxy: Proxy, outcome: ProxyOutcome): void {
    proxy.stats[outcome] += 1;
    this.count?.(outcome);
  }
}
