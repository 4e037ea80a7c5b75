// Publication payloads carry a stamp `"k":[step,seq,sentAtMicros]` near their start so that a
// receiver can read it straight from the bytes of any framing (WebSocket, Socket.IO, SSE)
// without parsing the JSON around it.

const MARKER = Buffer.from('"k":[', 'latin1');
const COMMA = 0x2c;
const CLOSE = 0x5d;

/** The wall clock in microseconds; comparable across processes on one machine. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Builds `data` JSON of about `bytes` bytes (the stamp's digits vary by a byte or two). */
export function makeData(step: number, seq: number, sentAt: number, bytes: number): string {
  const head = `{"k":[${step},${seq},${sentAt}],"p":"`;
  return head + padding(Math.max(0, bytes - head.length - 2)) + '"}';
}

let padCache = '';
function padding(length: number): string {
  if (padCache.length < length) padCache = 'x'.repeat(Math.max(length, 256));
  return padCache.slice(0, length);
}

export interface Stamp {
  step: number;
  seq: number;
  sentAt: number;
}

/**
 * Reads the stamp found in `buf[start, end)`. Returns false when there is none (a control
 * message). Digits are read by hand: this runs once per delivery on the generator's one core.
 */
export function readStamp(buf: Buffer, start: number, end: number, out: Stamp): boolean {
  const at = buf.indexOf(MARKER, start);
  if (at < 0 || at + MARKER.length >= end) return false;
  let i = at + MARKER.length;
  let n = 0;
  let c = buf[i];
  while (c !== COMMA) {
    n = n * 10 + (c - 48);
    c = buf[++i];
  }
  out.step = n;
  n = 0;
  c = buf[++i];
  while (c !== COMMA) {
    n = n * 10 + (c - 48);
    c = buf[++i];
  }
  out.seq = n;
  n = 0;
  c = buf[++i];
  while (c !== CLOSE && i < end) {
    n = n * 10 + (c - 48);
    c = buf[++i];
  }
  out.sentAt = n;
  return i < end;
}

/** The non-negative integer right after `marker` in `buf[start, end)`, or -1 when the marker is absent. */
export function readNumberAfter(buf: Buffer, marker: Buffer, start: number, end: number): number {
  const at = buf.indexOf(marker, start);
  if (at < 0 || at + marker.length >= end) return -1;
  let n = 0;
  for (let i = at + marker.length, c = buf[i]; i < end && c >= 48 && c <= 57; c = buf[++i]) n = n * 10 + (c - 48);
  return n;
}
