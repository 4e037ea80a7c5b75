import { useEffect, useState } from 'preact/hooks';
import type { ConsoleUser } from '../api.js';
import { AUDIT_TYPES, openAuditFeed, type AuditFilter, type AuditRecord, type FeedState } from '../components/audit-feed.js';
import { formatTime } from '../components/poll.js';
import { TenantField } from '../components/tenant-field.js';

/** Records kept on the page, the latest first; older ones fall off. */
const MAX_SHOWN = 300;
const EMPTY: AuditFilter = { types: [], tenant: '', user: '', channel: '' };
/** Fields every row shows in its own column; the rest go into the detail. */
const COLUMNS = new Set(['type', 'node', 'at', 'tenant', 'userId', 'channel', 'channels']);

const detail = (r: AuditRecord) =>
  Object.entries(r)
    .filter(([k]) => !COLUMNS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');

/** Audit: the live audit feed with its filters (types, tenant, user, channel pattern). */
export function AuditPage({ user, path, homeTenant }: { user: ConsoleUser; path: string | null; homeTenant: string }) {
  const [draft, setDraft] = useState<AuditFilter>({ ...EMPTY, tenant: user.tenant ?? '' });
  const [filter, setFilter] = useState<AuditFilter>(draft);
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [feed, setFeed] = useState<FeedState>({ state: 'connecting' });

  useEffect(() => {
    if (!path) return;
    setRecords([]);
    return openAuditFeed(path, homeTenant, filter, {
      record: (r) => setRecords((rs) => [r, ...rs].slice(0, MAX_SHOWN)),
      state: setFeed,
    });
  }, [path, homeTenant, filter]);

  if (!path) return <section data-page="audit"><h2>Audit</h2><p class="muted">The audit feed is off on this gateway (audit.enabled).</p></section>;
  const toggle = (type: string) => setDraft((d) => ({ ...d, types: d.types.includes(type) ? d.types.filter((t) => t !== type) : [...d.types, type] }));
  return (
    <section data-page="audit">
      <h2>Audit</h2>
      <form
        class="filters"
        data-form="audit-filter"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ ...draft });
        }}
      >
        <fieldset class="types">
          <legend>types (none: all)</legend>
          {AUDIT_TYPES.map((t) => (
            <label key={t} class="check">
              <input type="checkbox" name="types" value={t} checked={draft.types.includes(t)} onChange={() => toggle(t)} /> {t}
            </label>
          ))}
        </fieldset>
        <TenantField user={user} value={draft.tenant} onInput={(tenant) => setDraft((d) => ({ ...d, tenant }))} />
        <label>
          user <input name="user" value={draft.user} placeholder="any user" onInput={(e) => setDraft((d) => ({ ...d, user: (e.target as HTMLInputElement).value.trim() }))} />
        </label>
        <label>
          channel pattern <input name="channel" value={draft.channel} placeholder="e.g. order:*" onInput={(e) => setDraft((d) => ({ ...d, channel: (e.target as HTMLInputElement).value.trim() }))} />
        </label>
        <button type="submit">Apply</button>
      </form>
      <p data-feed={feed.state}>
        {feed.state === 'live' ? <span class="pill ok">live</span> : feed.state === 'connecting' ? <span class="pill warn">connecting</span> : <span class="pill bad" data-error>{feed.message}</span>}{' '}
        {feed.state === 'live' ? <span class="muted">{feed.scope === null ? 'may see every tenant' : `tenant ${feed.scope} only`} · kept records first, then live ones, the latest on top</span> : null}
      </p>
      {records.length === 0 ? <p class="muted">No record matches yet.</p> : null}
      {records.length > 0 ? (
        <table data-table="audit">
          <thead>
            <tr><th>time</th><th>type</th><th>tenant</th><th>user</th><th>channel</th><th>detail</th><th>node</th></tr>
          </thead>
          <tbody>
            {records.map((r, i) => (
              <tr key={`${r.at}-${records.length - i}`} data-type={r.type} data-user={r.userId ?? ''}>
                <td>{formatTime(r.at)}</td>
                <td>{r.type}</td>
                <td>{r.tenant ?? ''}</td>
                <td>{r.userId ?? ''}</td>
                <td>{r.channels?.join(', ') ?? r.channel ?? ''}</td>
                <td><code>{detail(r)}</code></td>
                <td><code>{r.node}</code></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
