import { useState } from 'preact/hooks';
import { call, type ConsoleUser } from '../api.js';
import { since, usePoll } from '../components/poll.js';
import { TenantField } from '../components/tenant-field.js';
import type { StreamListReply } from '@herald/server/api';

/** Streams: open backend streams on every node (`GET /api/v1/streams`), every 2 s, each with a cancel. */
export function StreamsPage({ user }: { user: ConsoleUser }) {
  const [tenant, setTenant] = useState('');
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const scope = user.tenant ?? (tenant || undefined);
  const { data, error, refresh } = usePoll(() => call<StreamListReply>('GET', '/api/v1/streams', { query: { tenant: scope } }), 2000, [scope]);

  async function cancel(id: string) {
    try {
      await call('POST', `/api/v1/streams/${encodeURIComponent(id)}/cancel`);
      setNotice(`Cancelled stream ${id}`);
    } catch (err) {
      setNotice(`Not cancelled: ${(err as Error).message}`);
    }
    await refresh();
  }

  return (
    <section data-page="streams">
      <h2>Streams</h2>
      <p class="muted">Open backend streams on every node that answered{data ? ` (${data.answered} of ${data.nodes})` : ''}. Cancel ends one as a viewer's cancel does: its viewers get its cancelled message and its upload ends.</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <TenantField user={user} value={tenant} onInput={setTenant} />
      </form>
      {notice ? <p class="notice" data-notice>{notice}</p> : null}
      {error ? <p class="error" data-error>{error}</p> : null}
      {data && data.streams.length === 0 ? <p class="muted">No stream is open.</p> : null}
      {data && data.streams.length > 0 ? (
        <table data-table="streams">
          <thead>
            <tr><th>stream</th><th>channels</th><th>tenant</th><th>kind</th><th>state</th><th class="num">bytes</th><th class="num">viewers</th><th>opened</th><th>node</th><th /></tr>
          </thead>
          <tbody>
            {data.streams.map((s) => (
              <tr key={s.id} data-stream={s.id} data-channel={s.channels[0]}>
                <td><code>{s.id}</code></td>
                <td>{s.channels.join(', ')}</td>
                <td>{s.tenant}</td>
                <td>{s.kind}</td>
                <td><span class="pill ok">{s.state}</span></td>
                <td class="num" data-bytes>{s.bytes}</td>
                <td class="num" data-viewers>{s.viewers}</td>
                <td>{since(s.openedAt)}</td>
                <td><code>{s.node}</code></td>
                <td class="actions">
                  <button type="button" data-action="cancel" onClick={() => void cancel(s.id)}>Cancel</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
