import type { Publication } from '@herald/client';
import { formatTime } from './poll.js';

/** Publications as rows: offset, time, event, id and the data as JSON. */
export function PublicationTable({ publications, label }: { publications: Publication[]; label: string }) {
  return (
    <table class="publications" data-table={label}>
      <thead>
        <tr><th>offset</th><th>time</th><th>event</th><th>data</th><th>id</th></tr>
      </thead>
      <tbody>
        {publications.map((p) => (
          <tr key={p.id} data-offset={p.offset} data-event={p.event}>
            <td class="num">{p.offset}</td>
            <td>{formatTime(p.ts)}</td>
            <td>{p.event}</td>
            <td><code>{p.data === undefined ? '' : JSON.stringify(p.data)}</code></td>
            <td><code class="muted">{p.id}</code></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
