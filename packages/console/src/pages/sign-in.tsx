import { useState } from 'preact/hooks';
import { call, type SessionInfo } from '../api.js';

/** Sign-in with the console password or an admin token, exchanged for the session cookie. */
export function SignInPage({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);

  async function submit(e: Event) {
    e.preventDefault();
    try {
      onSignedIn(await call<SessionInfo>('POST', '/console/session', { body: mode === 'password' ? { password: secret } : { token: secret.trim() } }));
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <main class="sign-in" data-page="sign-in">
      <h1>Herald console</h1>
      <form onSubmit={(e) => void submit(e)}>
        <div class="tabs">
          <label>
            <input type="radio" name="mode" value="password" checked={mode === 'password'} onChange={() => setMode('password')} /> Console password
          </label>
          <label>
            <input type="radio" name="mode" value="token" checked={mode === 'token'} onChange={() => setMode('token')} /> Admin token (JWT)
          </label>
        </div>
        {mode === 'password' ? (
          <input name="password" type="password" autocomplete="current-password" placeholder="console.password" value={secret} onInput={(e) => setSecret((e.target as HTMLInputElement).value)} />
        ) : (
          <textarea name="token" rows={4} placeholder="a JWT carrying the console's admin role" value={secret} onInput={(e) => setSecret((e.target as HTMLTextAreaElement).value)} />
        )}
        <button type="submit">Sign in</button>
        {error ? <p class="error" data-error>{error}</p> : null}
      </form>
      <p class="muted">The token or password is sent once; the gateway answers with an HttpOnly session cookie.</p>
    </main>
  );
}
