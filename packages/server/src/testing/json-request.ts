/**
 * One HTTP request with a JSON body (when given) and the answer parsed as JSON (kept as text
 * when it is not JSON), for tests that talk to a real gateway.
 *
 * @example
 * const { status, body } = await jsonRequest(herald.url, 'GET', '/health');
 */
export async function jsonRequest(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
