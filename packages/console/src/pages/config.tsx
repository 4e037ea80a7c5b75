import { call } from '../api.js';
import { usePoll } from '../components/poll.js';

/** Configuration: the loaded profile, secrets redacted by the gateway (`GET /api/v1/config`). */
export function ConfigPage() {
  const { data, error } = usePoll(() => call<Record<string, unknown>>('GET', '/api/v1/config'), 0);
  return (
    <section data-page="config">
      <h2>Configuration</h2>
      <p class="muted">The configuration this node runs with, defaults filled in. Secrets read [redacted]; the gateway removes them before they leave it.</p>
      {error ? <p class="error" data-error>{error}</p> : null}
      {data ? <pre data-config>{JSON.stringify(data, null, 2)}</pre> : null}
    </section>
  );
}
