import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/**
 * Calls `load` now and every `everyMs` while the component is shown (and again when `deps`
 * change); keeps the last answer and the last error. A slow answer never overlaps the next call.
 */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const busy = useRef(false);
  const loadRef = useRef(load);
  loadRef.current = load;
  const refresh = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      setData(await loadRef.current());
      setError(undefined);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      busy.current = false;
    }
  }, []);
  useEffect(() => {
    void refresh();
    if (everyMs <= 0) return;
    const timer = setInterval(() => void refresh(), everyMs);
    return () => clearInterval(timer);
  }, deps);
  return { data, error, refresh };
}

export const formatTime = (ms: number) => new Date(ms).toLocaleTimeString();

export function since(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
}
