import type { Publication } from '@herald/client';
import { useEffect, useState } from 'preact/hooks';
import { call, channelPath } from '../api.js';
import { PublicationTable } from './publication-table.js';
import type { HistoryReply } from '@herald/server/api';

/** The reply's publications always carry `data` (zod types an `unknown` field as optional). */
type HistoryPage = Omit<HistoryReply, 'publications'> & { publications: Publication[] };

/**
 * History browsing through `GET /api/v1/channels/:channel/history`: the newest page, or the page
 * after an offset of an epoch; "Next page" continues from the last offset shown.
 */
export function HistoryBrowser({ tenant, channel, epoch }: { tenant: string; channel: string; epoch: string }) {
  const [limit, setLimit] = useState(20);
  const [from, setFrom] = useState('');
  const [fromEpoch, setFromEpoch] = useState(epoch);
  const [page, setPage] = useState<HistoryPage | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  async function load(offset?: number, atEpoch?: string) {
    try {
      const query = { tenant, limit, ...(offset !== undefined ? { offset, epoch: atEpoch } : {}) };
      setPage(await call<HistoryPage>('GET', channelPath(channel, '/history'), { query }));
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  useEffect(() => void load(), []);

  const fromOffset = (e: Event) => {
    e.preventDefault();
    void load(Number(from), fromEpoch);
  };
  const last = page?.publications.at(-1);

  return (
    <div class="history" data-history>
      <h4>History</h4>
      <form class="filters" data-form="history" onSubmit={fromOffset}>
        <label>
          limit <input name="limit" type="number" min="1" max="1000" value={limit} onInput={(e) => setLimit(Number((e.target as HTMLInputElement).value) || 20)} />
        </label>
        <label>
          after offset <input name="offset" type="number" min="0" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          epoch <input name="epoch" value={fromEpoch} onInput={(e) => setFromEpoch((e.target as HTMLInputElement).value.trim())} />
        </label>
        <button type="submit" disabled={from === ''}>Read</button>
        <button type="button" data-action="newest" onClick={() => void load()}>Newest</button>
        <button type="button" data-action="next" disabled={!last} onClick={() => last && void load(last.offset, page!.epoch)}>
          Next page
        </button>
      </form>
      {error ? <p class="error" data-error>{error}</p> : null}
      {page ? (
        <>
          <p class="muted">
            Epoch <code data-epoch>{page.epoch}</code>, latest offset <b data-latest>{page.offset}</b>
            {page.recovery && !page.recovery.recovered ? `; not everything after that offset is kept (${page.recovery.reason})` : ''}.
          </p>
          <PublicationTable label="history" publications={page.publications} />
        </>
      ) : null}
    </div>
  );
}
