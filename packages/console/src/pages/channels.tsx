import { useEffect, useState } from 'preact/hooks';
import { call, type ConsoleUser } from '../api.js';
import { TenantField } from '../components/tenant-field.js';
import type { Links } from '../link.js';
import { ChannelDetail } from './channel-detail.js';
import type { ChannelSearchReply } from '@herald/server/api';

type ChannelRow = ChannelSearchReply['channels'][number];
export type RuleSummary = NonNullable<ChannelRow['rule']>;

/** Channels: search by tenant and pattern (`GET /api/v1/channels`), then one channel in detail. */
export function ChannelsPage({ user, links, operatorTenant }: { user: ConsoleUser; links: Links; operatorTenant: string }) {
  const [tenant, setTenant] = useState('');
  const [pattern, setPattern] = useState('');
  const [name, setName] = useState('');
  const [rows, setRows] = useState<ChannelRow[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [open, setOpen] = useState<{ tenant: string; channel: string } | undefined>(undefined);
  const scope = user.tenant ?? (tenant || undefined);

  async function search(e?: Event) {
    e?.preventDefault();
    try {
      const answer = await call<ChannelSearchReply>('GET', '/api/v1/channels', { query: { tenant: scope, pattern: pattern || undefined } });
      setRows(answer.channels);
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  useEffect(() => void search(), []);

  function openByName(e: Event) {
    e.preventDefault();
    if (name) setOpen({ tenant: scope ?? operatorTenant, channel: name });
  }

  return (
    <section data-page="channels">
      <h2>Channels</h2>
      <form class="filters" data-form="search" onSubmit={(e) => void search(e)}>
        <TenantField user={user} value={tenant} onInput={setTenant} />
        <label>
          pattern <input name="pattern" value={pattern} placeholder="city:* or part of a name" onInput={(e) => setPattern((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      <form class="filters" data-form="open" onSubmit={openByName}>
        <label>
          channel <input name="channel" value={name} placeholder="any channel name" onInput={(e) => setName((e.target as HTMLInputElement).value.trim())} />
        </label>
        <button type="submit">Open</button>
      </form>
      {error ? <p class="error" data-error>{error}</p> : null}
      {rows ? (
        rows.length === 0 ? (
          <p class="muted">No channel with subscribers matches. A channel without subscribers can still be opened by name.</p>
        ) : (
          <table data-table="channels">
            <thead>
              <tr><th>channel</th><th>tenant</th><th class="num">subscribers</th><th>rule</th><th></th></tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.tenant}/${r.channel}`} data-channel={r.channel}>
                  <td>{r.channel}</td>
                  <td>{r.tenant}</td>
                  <td class="num">{r.subscribers}</td>
                  <td>{r.rule ? <code>{r.rule.pattern}</code> : <span class="muted">no rule</span>}</td>
                  <td><button type="button" onClick={() => setOpen({ tenant: r.tenant, channel: r.channel })}>Open</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
      {open ? <ChannelDetail key={`${open.tenant}/${open.channel}`} tenant={open.tenant} channel={open.channel} links={links} /> : null}
    </section>
  );
}
