// Log-linear latency histogram in microseconds: 32 sub-buckets per power of two (≤ 3 % error),
// fixed size, cheap to record and to merge across processes.

const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
const MAX = 2 ** 31 - 1;
export const HISTOGRAM_SIZE = (31 - SUB_BITS + 1) * SUB;

function indexOf(micros: number): number {
  const v = micros <= 0 ? 0 : micros >= MAX ? MAX : micros | 0;
  if (v < SUB) return v;
  const exp = 31 - Math.clz32(v);
  return (exp - SUB_BITS + 1) * SUB + ((v >>> (exp - SUB_BITS)) & (SUB - 1));
}

/** The middle of bucket `index`, in microseconds. */
function valueOf(index: number): number {
  if (index < SUB) return index;
  const exp = Math.floor(index / SUB) + SUB_BITS - 1;
  const width = 2 ** (exp - SUB_BITS);
  return (SUB + (index % SUB)) * width + width / 2;
}

export class Histogram {
  readonly counts: number[];
  count = 0;
  max = 0;

  constructor(counts?: number[]) {
    this.counts = counts ? counts.slice() : new Array<number>(HISTOGRAM_SIZE).fill(0);
    for (const c of this.counts) this.count += c;
  }

  record(micros: number): void {
    this.counts[indexOf(micros)]++;
    this.count++;
    if (micros > this.max) this.max = micros;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < HISTOGRAM_SIZE; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    if (other.max > this.max) this.max = other.max;
  }

  /** The value at quantile `q` (0..1), in microseconds; 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    if (rank >= this.count) return this.max;
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_SIZE; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(valueOf(i), this.max);
    }
    return this.max;
  }

  toJSON(): { counts: number[]; max: number } {
    return { counts: this.counts, max: this.max };
  }

  static from(json: { counts: number[]; max: number }): Histogram {
    const h = new Histogram(json.counts);
    h.max = json.max;
    return h;
  }
}
