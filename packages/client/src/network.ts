type EventTargetLike = {
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
};

/** False only when the browser says it has no network; Node and workers without the flag count as online. */
export function networkUp(): boolean {
  return (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine !== false;
}

/**
 * Calls back on the browser's `online` and `offline` events; returns a function that stops.
 * Does nothing where the global object is not an event target (Node).
 */
export function watchNetwork(handlers: { online(): void; offline(): void }): () => void {
  const target = globalThis as EventTargetLike;
  if (typeof target.addEventListener !== 'function' || typeof target.removeEventListener !== 'function') return () => {};
  const online = () => handlers.online();
  const offline = () => handlers.offline();
  target.addEventListener('online', online);
  target.addEventListener('offline', offline);
  return () => {
    target.removeEventListener!('online', online);
    target.removeEventListener!('offline', offline);
  };
}
