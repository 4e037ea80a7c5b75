import type { Publication } from '@herald/client';
import { useEffect, useState } from 'preact/hooks';
import type { Links } from '../link.js';
import { PublicationTable } from './publication-table.js';

/** Publications kept in the tail at most, newest first. */
const MAX_TAIL = 200;

/**
 * A live tail: the console's own connection in the channel's tenant subscribes to it and lists
 * publications as they arrive.
 */
export function LiveTail({ tenant, channel, links }: { tenant: string; channel: string; links: Links }) {
  const [on, setOn] = useState(false);
  const [seen, setSeen] = useState<Publication[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    if (!on) return;
    const client = links.get(tenant);
    const sub = client.subscribe(channel);
    const offPublication = sub.onPublication((p) => setSeen((list) => [p as Publication, ...list].slice(0, MAX_TAIL)));
    const offError = sub.onError((err) => setError(err.message));
    return () => {
      offPublication();
      offError();
      void client.unsubscribe(channel).catch(() => undefined);
    };
  }, [on]);

  return (
    <div class="tail" data-tail>
      <h4>
        Live tail{' '}
        <button type="button" data-action="tail" onClick={() => setOn(!on)}>
          {on ? 'Stop' : 'Start'}
        </button>
        {on ? <span class="muted"> listening…</span> : null}
      </h4>
      {error ? <p class="error">{error}</p> : null}
      {seen.length > 0 ? <PublicationTable label="tail" publications={seen} /> : on ? <p class="muted">Nothing yet.</p> : null}
    </div>
  );
}
