import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, call, sessionEvents, type SessionInfo } from './api.js';
import { LinkStatus } from './components/link-status.js';
import { Links } from './link.js';
import { AuditPage } from './pages/audit.js';
import { ChannelsPage } from './pages/channels.js';
import { ConfigPage } from './pages/config.js';
import { ConnectionsPage } from './pages/connections.js';
import { LocksPage } from './pages/locks.js';
import { OverviewPage } from './pages/overview.js';
import { SignInPage } from './pages/sign-in.js';
import { StreamsPage } from './pages/streams.js';
import { WebhooksPage } from './pages/webhooks.js';

/** The pages in the navigation, by their `#/name`. */
const PAGES = [
  { id: 'overview', title: 'Overview' },
  { id: 'channels', title: 'Channels' },
  { id: 'connections', title: 'Connections and users' },
  { id: 'locks', title: 'Locks' },
  { id: 'streams', title: 'Streams' },
  { id: 'audit', title: 'Audit' },
  { id: 'webhooks', title: 'Webhooks' },
  { id: 'config', title: 'Configuration' },
] as const;
type PageId = (typeof PAGES)[number]['id'];

function pageFromHash(): PageId {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.id === id) ? (id as PageId) : 'overview';
}

/** Signed in: the header (navigation, link status, user, sign-out) and the current page. */
function Console({ session, onSignedOut }: { session: SessionInfo; onSignedOut: () => void }) {
  const [page, setPage] = useState(pageFromHash());
  const links = useMemo(() => new Links(session.websocket), [session]);
  const homeTenant = session.user.tenant ?? session.operatorTenant;
  const home = links.get(homeTenant);
  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    addEventListener('hashchange', onHash);
    sessionEvents.addEventListener('ended', onSignedOut);
    return () => {
      removeEventListener('hashchange', onHash);
      sessionEvents.removeEventListener('ended', onSignedOut);
      links.closeAll();
    };
  }, [links]);

  async function signOut() {
    links.closeAll();
    await call('POST', '/console/session/end').catch(() => undefined);
    onSignedOut();
  }

  const { user } = session;
  return (
    <>
      <header>
        <strong>Herald</strong>
        <nav>
          {PAGES.map((p) => (
            <a key={p.id} href={`#/${p.id}`} class={p.id === page ? 'current' : ''} data-nav={p.id}>
              {p.title}
            </a>
          ))}
        </nav>
        <LinkStatus client={home} />
        <span class="user" data-user>
          {user.via === 'password' ? 'operator (password)' : user.name} · {user.tenant ? `tenant ${user.tenant}` : 'every tenant'}
        </span>
        <button type="button" data-action="sign-out" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main>
        {page === 'overview' ? <OverviewPage /> : null}
        {page === 'channels' ? <ChannelsPage user={user} links={links} operatorTenant={session.operatorTenant} /> : null}
        {page === 'connections' ? <ConnectionsPage user={user} /> : null}
        {page === 'locks' ? <LocksPage user={user} /> : null}
        {page === 'streams' ? <StreamsPage user={user} /> : null}
        {page === 'audit' ? <AuditPage user={user} path={session.audit} homeTenant={homeTenant} /> : null}
        {page === 'webhooks' ? <WebhooksPage /> : null}
        {page === 'config' ? <ConfigPage /> : null}
      </main>
    </>
  );
}

/** The console: the sign-in page until there is a session. */
export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  useEffect(() => {
    call<SessionInfo>('GET', '/console/session').then(setSession, (err) => {
      if (!(err instanceof ApiError && err.status === 401)) console.error(err);
      setSession(null);
    });
  }, []);
  if (session === undefined) return <p class="muted">Loading…</p>;
  if (session === null) return <SignInPage onSignedIn={setSession} />;
  return <Console session={session} onSignedOut={() => setSession(null)} />;
}
