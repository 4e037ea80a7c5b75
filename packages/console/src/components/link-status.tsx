import { indicatorColor, statusLabel, type HeraldClient } from '@herald/client';
import { useEffect, useState } from 'preact/hooks';

/** The console's own link, in the seeds' colours: green connected, yellow connecting or reconnecting, red offline. */
export function LinkStatus({ client }: { client: HeraldClient }) {
  const [state, setState] = useState(client.state);
  useEffect(() => client.on('status', setState), [client]);
  const color = indicatorColor(state);
  return (
    <span class={`link ${color}`} data-link-status={state.status} data-color={color} title={`Live link: ${statusLabel(state)}`}>
      <span class="dot" /> {statusLabel(state)}
    </span>
  );
}
