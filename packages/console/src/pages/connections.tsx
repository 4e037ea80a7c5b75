import { useState } from 'preact/hooks';
import { call, type ConsoleUser } from '../api.js';
import { since, usePoll } from '../components/poll.js';
import { TenantField } from '../components/tenant-field.js';
import type { ConnectionListReply } from '@herald/server/api';

/** Connections and users: every node's connections (`GET /api/v1/connections`), every 2 s; disconnect a user or one connection. */
export function ConnectionsPage({ user }: { user: ConsoleUser }) {
  const [tenant, setTenant] = useState('');
  const [userId, setUserId] = useState('');
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const scope = user.tenant ?? (tenant || undefined);
  const { data, error, refresh } = usePoll(
    () => call<ConnectionListReply>('GET', '/api/v1/connections', { query: { tenant: scope, userId: userId || undefined } }),
    2000,
    [scope, userId],
  );

  async function disconnect(c: ConnectionListReply['connections'][number], whole: boolean) {
    try {
      await call('POST', `/api/v1/users/${encodeURIComponent(c.userId)}/disconnect`, {
        body: { tenant: c.tenant, reason: 'disconnected from the console', ...(whole ? {} : { connectionId: c.connectionId }) },
      });
      setNotice(whole ? `Disconnected user ${c.userId} (tenant ${c.tenant}) on every node.` : `Disconnected connection ${c.connectionId}.`);
      setTimeout(() => void refresh(), 300);
    } catch (err) {
      setNotice(`Refused: ${(err as Error).message}`);
    }
  }

  return (
    <section data-page="connections">
      <h2>Connections and users</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <TenantField user={user} value={tenant} onInput={setTenant} />
        <label>
          user <input name="userId" value={userId} placeholder="every user" onInput={(e) => setUserId((e.target as HTMLInputElement).value.trim())} />
        </label>
      </form>
      {notice ? <p class="notice" data-notice>{notice}</p> : null}
      {error ? <p class="error">{error}</p> : null}
      {data ? (
        <>
          <p class="muted">
            <span data-count>{data.connections.length}</span> connection{data.connections.length === 1 ? '' : 's'}, from {data.answered} of {data.nodes} nodes{data.truncated ? ' (first 1000 only)' : ''}.
          </p>
          <table data-table="connections">
            <thead>
              <tr><th>user</th><th>tenant</th><th>roles</th><th>transport</th><th>node</th><th>channels</th><th>connected</th><th></th></tr>
            </thead>
            <tbody>
              {data.connections.map((c) => (
                <tr key={c.connectionId} data-connection={c.connectionId} data-user={c.userId}>
                  <td>{c.userId}</td>
                  <td>{c.tenant}</td>
                  <td>{c.roles.join(', ') || <span class="muted">none</span>}</td>
                  <td>{c.transport}</td>
                  <td><code>{c.node}</code></td>
                  <td>{c.channels.join(', ') || <span class="muted">none</span>}</td>
                  <td title={new Date(c.connectedAt).toISOString()}>{since(c.connectedAt)}</td>
                  <td class="actions">
                    <button type="button" data-action="disconnect-connection" onClick={() => void disconnect(c, false)}>Disconnect</button>
                    <button type="button" data-action="disconnect-user" onClick={() => void disconnect(c, true)}>Disconnect user</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
