// The React example of docs/client.md, as the browser tests run it: one client, hooks over it,
// a connection dot, a live list, and a write that the outbox keeps while offline.
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { createHeraldClient, exponentialBackoff, indicatorColor, statusLabel } from '@herald/client';

const q = new URLSearchParams(location.search);
export const herald = createHeraldClient({
  url: q.get('ws'),
  token: q.get('token'),
  backoff: exponentialBackoff({ initial: 50, max: 200, jitter: 0 }),
});

/** The connection state; re-renders on every change. */
export function useConnectionState() {
  return useSyncExternalStore((notify) => herald.on('status', notify), () => herald.state);
}

/** Runs `handler` for one event of one channel while the component is mounted. */
export function useHeraldEvent(channel, event, handler) {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => herald.subscribe(channel).on(event, (data) => latest.current(data)), [channel, event]);
}

export function ConnectionDot() {
  const state = useConnectionState();
  return <span id="dot" data-color={indicatorColor(state)} title={statusLabel(state)} style={{ background: indicatorColor(state) }} />;
}

export function ScheduleFeed() {
  const [updates, setUpdates] = useState([]);
  useHeraldEvent('schedules', 'schedule:updated', (data) => setUpdates((list) => [...list, data.version]));
  return <ol id="updates">{updates.map((v, i) => <li key={i}>{v}</li>)}</ol>;
}

export function SaveButton() {
  const clicks = useRef(0);
  const [saved, setSaved] = useState(0);
  // Offline, the outbox keeps each write (IndexedDB in a real app) and sends it once back online.
  const save = () => {
    clicks.current += 1;
    herald.publish('edits', 'edit:saved', { n: clicks.current }).then(() => setSaved((n) => n + 1));
  };
  return <button id="save" onClick={save}>saved {saved}</button>;
}

createRoot(document.getElementById('root')).render(
  <>
    <ConnectionDot />
    <ScheduleFeed />
    <SaveButton />
  </>,
);
