/**
 * Splits a byte stream into lines of at most `maxBytes` each (a trailing `\r` dropped). Hand-written
 * because node:readline buffers a line without bound: an upload that never sends `\n` would grow
 * the process's memory until it dies. A newline byte never occurs inside a multi-byte UTF-8
 * character, so each line is split on bytes and then decoded.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /**
   * The complete lines in `chunk`; `tooLong` when the next line passes the bound (the lines
   * before it are still given, nothing after it is read).
   */
  push(chunk: Buffer): { lines: string[]; tooLong?: boolean } {
    const lines: string[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl >= 0; nl = chunk.indexOf(10, from)) {
      const piece = chunk.subarray(from, nl);
      if (this.size + piece.length > this.maxBytes + 1) return { lines, tooLong: true };
      lines.push(this.take(piece));
      from = nl + 1;
    }
    const rest = chunk.subarray(from);
    if (this.size + rest.length > this.maxBytes + 1) return { lines, tooLong: true };
    if (rest.length > 0) {
      this.parts.push(rest);
      this.size += rest.length;
    }
    return { lines };
  }

  /** What is left after the last newline, as a last line (undefined when nothing is). */
  end(): string | undefined {
    return this.size > 0 ? this.take(Buffer.alloc(0)) : undefined;
  }

  private take(piece: Buffer): string {
    const line = this.parts.length > 0 ? Buffer.concat([...this.parts, piece]) : piece;
    this.parts = [];
    this.size = 0;
    const text = line.toString('utf8');
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  }
}
