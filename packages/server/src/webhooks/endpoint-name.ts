/** A URL as stats and logs may show it: without credentials, query or fragment (they may hold tokens). */
export function displayUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
