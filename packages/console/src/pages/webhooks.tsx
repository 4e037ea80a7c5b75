import { call } from '../api.js';
import { usePoll } from '../components/poll.js';
import type { WebhookStatsReply as WebhookStats } from '@herald/server/api';

/** A finished delivery, or a failure (which has no `outcome`: it is one). */
type Delivery = WebhookStats['recentDeliveries'][number] | WebhookStats['recentFailures'][number];

const time = (iso: string) => new Date(iso).toLocaleTimeString();

/** The reason, and the last status when the reason does not already say it. */
function outcomeText(d: Delivery): string {
  const reason = d.reason ?? '';
  return d.status !== undefined && !reason.includes(String(d.status)) ? `HTTP ${d.status}: ${reason}` : reason;
}

function DeliveryTable({ name, rows }: { name: string; rows: Delivery[] }) {
  if (rows.length === 0) return <p class="muted">None yet.</p>;
  return (
    <table data-table={name}>
      <thead>
        <tr><th>time</th><th>endpoint</th><th>event</th><th>webhook-id</th><th class="num">attempts</th><th>outcome</th></tr>
      </thead>
      <tbody>
        {rows.map((d) => (
          <tr key={`${d.webhookId}/${d.endpoint}`} data-endpoint={d.endpoint} data-type={d.type}>
            <td>{time(d.at)}</td>
            <td>{d.endpoint}</td>
            <td>{d.type}</td>
            <td><code>{d.webhookId}</code></td>
            <td class="num">{d.attempts}</td>
            <td data-outcome>
              {'outcome' in d && d.outcome === 'sent' ? <span class="pill ok">sent</span> : <span class="pill bad">failed</span>} {outcomeText(d)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Webhooks: endpoints with their queues and counts, recent deliveries and failures (`GET /api/v1/stats/webhooks`), every 2 s. */
export function WebhooksPage() {
  const { data, error } = usePoll(() => call<WebhookStats>('GET', '/api/v1/stats/webhooks'), 2000);
  return (
    <section data-page="webhooks">
      <h2>Webhooks</h2>
      <p class="muted">This node's endpoints and deliveries: each node sends the events that happened on it.</p>
      {error ? <p class="error" data-error>{error}</p> : null}
      {data && data.endpoints.length === 0 ? <p class="muted">No webhook endpoint is configured (webhooks.endpoints).</p> : null}
      {data && data.endpoints.length > 0 ? (
        <>
          <table data-table="endpoints">
            <thead>
              <tr>
                <th>endpoint</th><th>url</th><th>events</th><th class="num">queued</th><th class="num">in flight</th><th class="num">sent</th><th class="num">retries</th><th class="num">failed</th><th class="num">dropped</th>
              </tr>
            </thead>
            <tbody>
              {data.endpoints.map((e) => (
                <tr key={e.name} data-endpoint={e.name}>
                  <td>{e.name}</td>
                  <td><code>{e.url}</code></td>
                  <td>{e.events.join(', ')}</td>
                  <td class="num" data-queued>{e.queued} <span class="muted">/ {data.queue.maxEvents}</span></td>
                  <td class="num">{e.inFlight}</td>
                  <td class="num" data-sent>{e.sent}</td>
                  <td class="num">{e.retries}</td>
                  <td class="num" data-failed>{e.failed}</td>
                  <td class="num">{e.dropped}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Failures</h3>
          <DeliveryTable name="failures" rows={data.recentFailures} />
          <h3>Recent deliveries</h3>
          <DeliveryTable name="deliveries" rows={data.recentDeliveries} />
        </>
      ) : null}
    </section>
  );
}
