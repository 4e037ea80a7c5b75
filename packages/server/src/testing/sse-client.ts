/** One parsed Server-Sent Event. `id` is the last event id in force when it was dispatched. */
export interface SseEvent {
  event: string;
  data: string;
  id: string;
}

/**
 * A raw SSE reader over fetch for tests: parses the stream by the spec's rules (fields,
 * comments, id-only events) and records everything, including the raw text.
 */
export class SseTestClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  raw = '';
  lastEventId = '';
  status = 0;
  readonly done: Promise<void>;
  private readonly controller = new AbortController();
  private waiters: { match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  private headersReady!: (status: number) => void;
  readonly opened: Promise<number>;
  /** Called with each event as it is dispatched, before waiters. */
  onEvent: ((e: SseEvent) => void) | undefined;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.opened = new Promise((resolve) => (this.headersReady = resolve));
    this.done = this.run(url, headers);
  }

  next(match: (e: SseEvent) => boolean, timeoutMs = 3000): Promise<SseEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching SSE event in ${timeoutMs} ms; got ${JSON.stringify(this.events).slice(0, 600)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  close(): void {
    this.controller.abort();
  }

  private async run(url: string, headers: Record<string, string>): Promise<void> {
    let response: Response;
    try {
      response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: this.controller.signal });
    } catch {
      this.headersReady(0);
      return;
    }
    this.status = response.status;
    this.headersReady(response.status);
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    let event = '';
    let data: string[] = [];
    // As in the spec: an `id` field takes effect when its event ends (blank line), even without data.
    let idBuffer = this.lastEventId;
    try {
      for await (const chunk of response.body) {
        const text = decoder.decode(chunk as Uint8Array, { stream: true });
        this.raw += text;
        buffer += text;
        let nl: number;
        while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
          if (line === '') {
            this.lastEventId = idBuffer;
            if (data.length > 0) this.dispatch({ event: event || 'message', data: data.join('\n'), id: this.lastEventId });
            event = '';
            data = [];
          } else if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
          else {
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
            else if (field === 'id' && !value.includes('\0')) idBuffer = value;
          }
        }
      }
    } catch {
      // aborted or cut: the recorded events stay
    }
  }

  private dispatch(e: SseEvent): void {
    this.events.push(e);
    this.onEvent?.(e);
    this.waiters = this.waiters.filter((w) => !(w.match(e) && (w.resolve(e), true)));
  }
}
