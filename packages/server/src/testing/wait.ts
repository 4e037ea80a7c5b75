import { setTimeout as sleepFor } from 'node:timers/promises';

/**
 * Polls until `check` gives a value other than undefined, null or false, and resolves with it;
 * rejects naming `what` after `timeoutMs`. The one wait helper of every test.
 *
 * @example
 * const reply = await waitFor(() => client.frames.find((f) => f.type === 'reply'), 'the reply');
 */
export async function waitFor<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what = 'condition', timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleepFor(10);
  }
}

/** Resolves with what `promise` resolves to, or rejects after `timeoutMs` (e.g. a socket that stays open). */
export function within<T>(promise: Promise<T>, timeoutMs = 3000, what = 'close'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return sleepFor(ms);
}
