import { call } from '../api.js';
import { LiveChart } from '../components/chart.js';
import { Counts } from '../components/counts.js';
import { since, usePoll } from '../components/poll.js';
import type { OverviewReply as Overview } from '@herald/server/api';

/** Close codes the server uses (docs/protocol.md), for the closes table. */
const CLOSE_NAMES: Record<string, string> = {
  '1012': 'restart / shutdown',
  '4002': 'token expired',
  '4005': 'replaced',
  '4006': 'slow consumer',
  '4009': 'disconnected by an operator',
  '4010': 'heartbeat timeout',
};

/** Overview: the whole cluster, from `GET /api/v1/stats?scope=cluster`, every 2 s. */
export function OverviewPage() {
  const { data, error } = usePoll(() => call<Overview>('GET', '/api/v1/stats', { query: { scope: 'cluster' } }), 2000);
  if (!data) return <p class="muted">{error ?? 'Loading…'}</p>;
  const f = data.figures;
  return (
    <section data-page="overview">
      <h2>Overview</h2>
      <p class="muted" data-scope>
        Cluster-wide: {data.answered} of {data.nodes} node{data.nodes === 1 ? '' : 's'} answered through the engine{data.tenant ? `; tenant ${data.tenant} only` : ''}.
        {error ? <span class="error"> Last refresh failed: {error}</span> : null}
      </p>
      <div class="tiles">
        <div class="tile"><b data-total-connections>{data.connections.total}</b> connections</div>
        <div class="tile"><b data-total-users>{data.connections.users}</b> users</div>
        <div class="tile"><b data-total-channels>{data.channels}</b> channels with subscribers</div>
        <div class="tile"><b data-total-nodes>{data.nodeList.length}</b> nodes</div>
      </div>
      <h3>Nodes</h3>
      <table data-table="nodes">
        <thead>
          <tr><th>node</th><th>state</th><th>engine</th><th class="num">connections</th><th class="num">engine round trip</th><th>started</th></tr>
        </thead>
        <tbody>
          {data.nodeList.map((n) => (
            <tr key={n.id} data-node={n.id}>
              <td><code>{n.id}</code>{n.self ? <span class="muted"> (this one)</span> : null}</td>
              <td><span class={`pill ${n.accepting ? 'ok' : 'warn'}`}>{n.accepting ? 'up' : 'draining'}</span></td>
              <td>{n.engine} <span class={`pill ${n.engineReady ? 'ok' : 'bad'}`}>{n.engineReady ? 'ready' : 'unavailable'}</span></td>
              <td class="num" data-node-connections>{n.connections}</td>
              <td class="num">{n.engineMs !== undefined ? `${n.engineMs.toFixed(1)} ms` : '—'}</td>
              <td>{since(n.startedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {f ? (
        <div class="charts">
          <LiveChart title="Publications" start={f.series.start} values={f.series.publications} color="#2563eb" />
          <LiveChart title="Deliveries" start={f.series.start} values={f.series.deliveries} color="#16a34a" />
        </div>
      ) : (
        <p class="muted">Node-wide figures (rates, denials, closes) are shown to operators only.</p>
      )}
      <div class="columns">
        <div>
          <h3>Connections by transport</h3>
          <Counts label="transport" counts={data.connections.byTransport} />
        </div>
        <div>
          <h3>Connections by tenant</h3>
          <Counts label="tenant" counts={data.connections.byTenant} />
        </div>
        {f ? (
          <div>
            <h3>Denials by reason</h3>
            <Counts label="denials" counts={f.denials} />
            <h3>Server closes</h3>
            <p class="muted">Slow-consumer closes: <b data-slow-consumers>{f.closes['4006'] ?? 0}</b></p>
            <Counts label="closes" counts={f.closes} names={CLOSE_NAMES} />
          </div>
        ) : null}
      </div>
      {f ? (
        <p class="muted">
          Since the nodes started: <span data-publications>{f.publications}</span> publications, <span data-deliveries>{f.deliveries}</span> deliveries.
        </p>
      ) : null}
    </section>
  );
}
