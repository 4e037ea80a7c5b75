/** How deep a publication's `data` may nest by default: `[]` and `{}` are one level, `[[1]]` two. */
export const DEFAULT_MAX_DATA_DEPTH = 64;
/** How large a publication's `data` may be by default, in bytes of its UTF-8 JSON. */
export const DEFAULT_MAX_DATA_BYTES = 65_536;
/**
 * The deepest `data` Herald ever handles, whatever the configuration: far below where a
 * recursive JSON encoder overflows the stack (a few thousand levels in V8).
 */
export const DATA_DEPTH_CEILING = 1_000;

export interface DataLimits {
  /** Levels of arrays and objects; default DEFAULT_MAX_DATA_DEPTH. */
  maxDepth?: number;
  /** Bytes of the UTF-8 JSON; default DEFAULT_MAX_DATA_BYTES. `Infinity` checks only depth and types. */
  maxBytes?: number;
}

/** Anything but printable ASCII other than `"` and `\`: what makes a string's JSON differ from its characters. */
const NOT_PLAIN_ASCII = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/** UTF-8 bytes of a string as `JSON.stringify` writes it, quotes and escapes included. */
function jsonStringBytes(s: string): number {
  // Most strings are plain ASCII: one native scan instead of a loop over their characters.
  if (!NOT_PLAIN_ASCII.test(s)) return s.length + 2;
  let bytes = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) bytes += 2;
    else if (c < 0x20) bytes += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
    else if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) bytes += 6; // a lone surrogate is written as \uXXXX
    else bytes += 3;
  }
  return bytes;
}

/** What JSON.stringify encodes a value as: its `toJSON()` result, or the primitive inside a boxed one. */
function jsonValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return toJSON.call(value);
  if (value instanceof Number || value instanceof String || value instanceof Boolean) return value.valueOf();
  return value;
}

/** Values JSON leaves out of objects (and writes as `null` in arrays). */
const omitted = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/**
 * Returns why `value` cannot be a publication's `data`, or undefined when it can: nested deeper
 * than `maxDepth`, larger than `maxBytes` as UTF-8 JSON (counted exactly as `JSON.stringify`
 * would write it), or holding something JSON cannot encode (a bigint; a cycle counts as too deep).
 *
 * Walks the value with its own stack and stops at the first limit passed, so it is safe on any
 * input, including a value nested far deeper than JSON.stringify can handle.
 *
 * @example
 * dataProblem(JSON.parse('[[[]]]'), { maxDepth: 2 }); // 'nested deeper than 2 levels'
 */
export function dataProblem(value: unknown, limits: DataLimits = {}): string | undefined {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DATA_DEPTH;
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_DATA_BYTES;
  const counting = maxBytes !== Infinity;
  const tooLarge = `larger than ${maxBytes} bytes as JSON`;
  let bytes = 0;
  const stack: { value: unknown; depth: number }[] = [];
  try {
    const top = jsonValue(value);
    // No data at all (JSON.stringify gives undefined): nothing to bound.
    if (omitted(top)) return undefined;
    stack.push({ value: top, depth: 0 });
    while (stack.length > 0) {
      const { value: v, depth: parentDepth } = stack.pop()!;
      if (typeof v === 'bigint') return 'contains a bigint, which JSON cannot encode';
      if (v === null || typeof v !== 'object') {
        if (counting) {
          if (typeof v === 'string') bytes += jsonStringBytes(v);
          else if (typeof v === 'number') bytes += Number.isFinite(v) ? String(v).length : 4;
          else if (typeof v === 'boolean') bytes += v ? 4 : 5;
          // null, and what stands for null in an array (undefined, a function, a symbol)
          else bytes += 4;
          if (bytes > maxBytes) return tooLarge;
        }
        continue;
      }
      const depth = parentDepth + 1;
      if (depth > maxDepth) return `nested deeper than ${maxDepth} level${maxDepth === 1 ? '' : 's'}`;
      if (Array.isArray(v)) {
        if (counting) bytes += 2 + Math.max(0, v.length - 1);
        for (let i = v.length - 1; i >= 0; i--) stack.push({ value: jsonValue(v[i]), depth });
      } else {
        let entries = 0;
        for (const key of Object.keys(v)) {
          const child = jsonValue((v as Record<string, unknown>)[key]);
          if (omitted(child)) continue;
          entries += 1;
          if (counting) bytes += jsonStringBytes(key) + 1;
          stack.push({ value: child, depth });
        }
        if (counting) bytes += 2 + Math.max(0, entries - 1);
      }
      if (counting && bytes > maxBytes) return tooLarge;
    }
  } catch {
    // A toJSON or getter that throws: JSON.stringify would throw too.
    return 'cannot be encoded as JSON';
  }
  return undefined;
}
