import { call, channelPath } from '../api.js';
import { usePoll } from '../components/poll.js';
import { HistoryBrowser } from '../components/history-browser.js';
import { LiveTail } from '../components/live-tail.js';
import { PublishForm } from '../components/publish-form.js';
import type { Links } from '../link.js';
import type { RuleSummary } from './channels.js';
import type { ChannelInfoReply as Detail } from '@herald/server/api';

const who = (p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p));

/** One channel: its rule, subscribers and presence (`GET /api/v1/channels/:channel`, every 3 s), history, tail and publish. */
export function ChannelDetail({ tenant, channel, links }: { tenant: string; channel: string; links: Links }) {
  const { data, error } = usePoll(() => call<Detail>('GET', channelPath(channel), { query: { tenant } }), 3000);
  return (
    <article class="detail" data-detail={channel}>
      <h3>
        {channel} <span class="muted">in tenant {tenant}</span>
      </h3>
      {error ? <p class="error" data-error>{error}</p> : null}
      {data ? (
        <div class="columns">
          <div>
            <h4>Rule</h4>
            {data.rule ? (
              <table data-table="rule">
                <tbody>
                  <tr><td>pattern</td><td><code>{data.rule.pattern}</code></td></tr>
                  <tr><td>who may subscribe</td><td>{who(data.rule.subscribe)}</td></tr>
                  <tr><td>who may publish (clients)</td><td>{who(data.rule.publish)}</td></tr>
                  <tr><td>history</td><td>{data.rule.history.size > 0 ? `${data.rule.history.size} for ${Math.round(data.rule.history.ttl / 1000)} s` : 'not kept'}</td></tr>
                  <tr><td>presence</td><td>{data.rule.presence ? 'kept' : 'not kept'}{data.rule.joinLeave ? ', join/leave events' : ''}</td></tr>
                  <tr><td>max subscribers</td><td>{data.rule.maxSubscribers || 'unlimited'}</td></tr>
                  <tr><td>locks</td><td>{data.rule.locks ? 'enabled' : 'off'}</td></tr>
                </tbody>
              </table>
            ) : (
              <p class="muted">No rule matches this name: nobody may subscribe.</p>
            )}
          </div>
          <div>
            <h4>Subscribers</h4>
            <p>
              <b data-subscribers>{data.subscribers}</b> connection{data.subscribers === 1 ? '' : 's'} on {data.answered} of {data.nodes} nodes
            </p>
            {data.presence ? (
              <>
                <h4>Presence</h4>
                {data.presence.length === 0 ? <p class="muted">nobody</p> : null}
                <ul data-presence>
                  {data.presence.map((p) => (
                    <li key={p.userId}>
                      {p.userId} <span class="muted">({p.connections} connection{p.connections === 1 ? '' : 's'})</span>
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </div>
        </div>
      ) : null}
      {data?.history ? <HistoryBrowser tenant={tenant} channel={channel} epoch={data.history.epoch} /> : null}
      <LiveTail tenant={tenant} channel={channel} links={links} />
      <PublishForm tenant={tenant} channel={channel} />
    </article>
  );
}
