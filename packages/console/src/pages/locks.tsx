import { useState } from 'preact/hooks';
import { call, type ConsoleUser } from '../api.js';
import { formatTime, usePoll } from '../components/poll.js';
import { TenantField } from '../components/tenant-field.js';
import type { LockListReply } from '@herald/server/api';

/** Locks: soft locks held now on every node (`GET /api/v1/locks`), every 2 s. */
export function LocksPage({ user }: { user: ConsoleUser }) {
  const [tenant, setTenant] = useState('');
  const scope = user.tenant ?? (tenant || undefined);
  const { data, error } = usePoll(() => call<LockListReply>('GET', '/api/v1/locks', { query: { tenant: scope } }), 2000, [scope]);
  return (
    <section data-page="locks">
      <h2>Locks</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <TenantField user={user} value={tenant} onInput={setTenant} />
      </form>
      {error ? <p class="error">{error}</p> : null}
      {data && data.locks.length === 0 ? <p class="muted">No lock is held.</p> : null}
      {data && data.locks.length > 0 ? (
        <table data-table="locks">
          <thead>
            <tr><th>channel</th><th>lock</th><th>holder</th><th>tenant</th><th>node</th><th>expires</th></tr>
          </thead>
          <tbody>
            {data.locks.map((l) => (
              <tr key={`${l.tenant}/${l.channel}/${l.name}`} data-lock={l.name}>
                <td>{l.channel}</td>
                <td>{l.name}</td>
                <td data-holder>{l.userId}</td>
                <td>{l.tenant}</td>
                <td><code>{l.node}</code></td>
                <td data-expires>{formatTime(l.expiresAt)} <span class="muted">(in {Math.max(0, Math.round((l.expiresAt - Date.now()) / 1000))} s unless refreshed)</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
