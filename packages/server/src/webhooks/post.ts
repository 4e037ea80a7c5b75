/** What one signed POST came to. */
export type PostOutcome = { ok: true; status: number; body: string } | { ok: false; status?: number; reason: string };

/**
 * POSTs a JSON body with extra headers; settles within `timeoutMs` (or when `cancel` aborts),
 * never rejects. A 2xx is ok;
 * its body is read up to `maxResponseBytes` (the rest is a failure: an answer that large is not
 * one Herald asked for). Other statuses, network errors and timeouts are failures with a reason.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  options: { maxResponseBytes?: number; cancel?: AbortSignal } = {},
): Promise<PostOutcome> {
  const maxResponseBytes = options.maxResponseBytes ?? 0;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.cancel ? AbortSignal.any([timeout, options.cancel]) : timeout;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Herald-Webhooks', ...headers },
      body,
      signal,
      redirect: 'manual',
    });
    if (response.status < 200 || response.status >= 300) {
      await response.body?.cancel();
      return { ok: false, status: response.status, reason: `HTTP ${response.status}` };
    }
    if (maxResponseBytes === 0) {
      await response.body?.cancel();
      return { ok: true, status: response.status, body: '' };
    }
    const text = await readBounded(response, maxResponseBytes);
    return text === undefined ? { ok: false, status: response.status, reason: `answer larger than ${maxResponseBytes} bytes` } : { ok: true, status: response.status, body: text };
  } catch (err) {
    if (options.cancel?.aborted) return { ok: false, reason: 'cancelled: webhooks closed' };
    if (timeout.aborted) return { ok: false, reason: `no answer within ${timeoutMs} ms` };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, reason: cause?.code ?? cause?.message ?? (err as Error).message };
  }
}

/** The body as text, or undefined past `limit` bytes (then the rest is not read). */
async function readBounded(response: Response, limit: number): Promise<string | undefined> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    // Leaving the loop cancels the rest of the body.
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
