import { useState } from 'preact/hooks';
import { call } from '../api.js';

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

/** Publishes to the channel through `POST /api/v1/publish`: event, JSON data and an optional audience. */
export function PublishForm({ tenant, channel }: { tenant: string; channel: string }) {
  const [event, setEvent] = useState('');
  const [data, setData] = useState('');
  const [roles, setRoles] = useState('');
  const [users, setUsers] = useState('');
  const [result, setResult] = useState<string | undefined>(undefined);

  async function publish(e: Event) {
    e.preventDefault();
    let parsed: unknown;
    if (data.trim() !== '') {
      try {
        parsed = JSON.parse(data);
      } catch (err) {
        setResult(`Data is not JSON: ${(err as Error).message}`);
        return;
      }
    }
    const audience = roles || users ? { ...(roles ? { roles: list(roles) } : {}), ...(users ? { users: list(users) } : {}) } : undefined;
    try {
      const answer = await call<{ id: string; offset?: number }>('POST', '/api/v1/publish', {
        body: { tenant, channel, event, ...(parsed !== undefined ? { data: parsed } : {}), ...(audience ? { audience } : {}) },
      });
      setResult(`Published ${answer.id}${answer.offset !== undefined ? ` at offset ${answer.offset}` : ''}.`);
    } catch (err) {
      setResult(`Refused: ${(err as Error).message}`);
    }
  }

  return (
    <>
      <h4>Publish</h4>
      <form class="publish" data-form="publish" onSubmit={(e) => void publish(e)}>
      <label>
        event <input name="event" required value={event} onInput={(e) => setEvent((e.target as HTMLInputElement).value)} />
      </label>
      <label class="wide">
        data (JSON) <textarea name="data" rows={3} value={data} onInput={(e) => setData((e.target as HTMLTextAreaElement).value)} />
      </label>
      <label>
        audience roles <input name="roles" value={roles} placeholder="all" onInput={(e) => setRoles((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        audience users <input name="users" value={users} placeholder="all" onInput={(e) => setUsers((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Publish</button>
      </form>
      {result ? <p class="notice" data-publish-result>{result}</p> : null}
    </>
  );
}
