import { COMMON, publishItemsLua } from './redis-scripts.js';

/**
 * Lua for backend streams (see StreamStore). Each write is one script: the state check, the
 * stream's text and runs, and the publications (publishItemsLua) happen in one atomic step, so a
 * chunk is never published after its stream ended, one `end` wins, and a snapshot read with the
 * channel's offset holds exactly the chunks at or below it.
 *
 * A stream's keys (redis-keys.ts `stream*`) share its home channel's hash tag. Its record is a
 * hash `{st: state, m: meta, sep: separator, g: last group, u: last write (Redis ms), r: reason}`;
 * the text is one string grown with APPEND, so a write costs O(chunk), not O(stream); the runs
 * list says where each group's run starts in it. Open-stream sets hold `<id>\t<home>`.
 */

/**
 * KEYS: record, text, runs, then the open-stream set of each channel, then 3 per item (publishItemsLua).
 * ARGV: run id ('' on a cluster: the script asks the shard), epoch candidates, meta, separator, ttlMs, set member, channel count, then the items (publishItemsLua).
 * Returns `{'exists'}` or `{'ok', now, then three entries per item (publishItemsLua)}`.
 */
export function streamOpenLua(sharded: boolean): string {
  return `${COMMON}${publishItemsLua(sharded)}
local rec, text, runs = KEYS[1], KEYS[2], KEYS[3]
local nchan = tonumber(ARGV[7])
if redis.call('EXISTS', rec) == 1 then return {'exists'} end
local now = now_ms()
local ttl = tonumber(ARGV[5])
redis.call('HSET', rec, 'st', 'open', 'm', ARGV[3], 'sep', ARGV[4], 'u', int(now))
redis.call('PEXPIRE', rec, int(ttl))
redis.call('DEL', text, runs)
for i = 1, nchan do redis.call('SADD', KEYS[3 + i], ARGV[6]) end
local out = publish_items(3 + nchan, 5, (#KEYS - 3 - nchan) / 3, ARGV[1], ARGV[2])
table.insert(out, 1, int(now))
table.insert(out, 1, 'ok')
return out
`;
}

/**
 * KEYS: record, text, runs, then 3 per item.
 * ARGV: run id, epoch candidates, max bytes, ttlMs, chunk count c, then c pairs of group and text,
 *       then the items (publishItemsLua).
 * Returns `{'unknown'}`, `{'ended', state}`, `{'too_long', bytes}` or `{'ok', bytes, now, then three entries per item (publishItemsLua)}`.
 */
export function streamAppendLua(sharded: boolean): string {
  return `${COMMON}${publishItemsLua(sharded)}
local rec, text, runs = KEYS[1], KEYS[2], KEYS[3]
local st = redis.call('HGET', rec, 'st')
if not st then return {'unknown'} end
if st ~= 'open' then return {'ended', st} end
local max, ttl, c = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local sep = redis.call('HGET', rec, 'sep') or ''
local group = redis.call('HGET', rec, 'g')
local bytes = redis.call('STRLEN', text)
local total, g = bytes, group
for i = 1, c do
  local cg, ct = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  if cg == g then total = total + #sep end
  total = total + #ct
  g = cg
end
if total > max then return {'too_long', bytes} end
for i = 1, c do
  local cg, ct = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  if cg == group then
    redis.call('APPEND', text, sep .. ct)
  else
    redis.call('RPUSH', runs, int(redis.call('STRLEN', text)) .. '\\t' .. cg)
    redis.call('APPEND', text, ct)
  end
  group = cg
end
local now = now_ms()
redis.call('HSET', rec, 'g', group, 'u', int(now))
redis.call('PEXPIRE', rec, int(ttl))
redis.call('PEXPIRE', text, int(ttl))
redis.call('PEXPIRE', runs, int(ttl))
local out = publish_items(3, 3 + 2 * c, (#KEYS - 3) / 3, ARGV[1], ARGV[2])
table.insert(out, 1, int(now))
table.insert(out, 1, int(total))
table.insert(out, 1, 'ok')
return out
`;
}

/**
 * KEYS: record, text, runs. ARGV: ttlMs.
 * Returns 1 when the stream is open (its last write time and expiry refreshed), else 0.
 */
export const STREAM_TOUCH_LUA = `${COMMON}
local rec, text, runs = KEYS[1], KEYS[2], KEYS[3]
if redis.call('HGET', rec, 'st') ~= 'open' then return 0 end
local ttl = int(tonumber(ARGV[1]))
redis.call('HSET', rec, 'u', int(now_ms()))
redis.call('PEXPIRE', rec, ttl)
redis.call('PEXPIRE', text, ttl)
redis.call('PEXPIRE', runs, ttl)
return 1
`;

/**
 * KEYS: record, text, runs, then the open-stream set of each channel, then 3 per item.
 * ARGV: run id, epoch candidates, state, reason, retentionMs, idleMs (0: any), set member,
 *       channel count, then the items (publishItemsLua).
 * Returns `{'unknown'}`, `{'ended', state}`, `{'active'}` or `{'ok', now, then three entries per item (publishItemsLua)}`.
 */
export function streamEndLua(sharded: boolean): string {
  return `${COMMON}${publishItemsLua(sharded)}
local rec, text, runs = KEYS[1], KEYS[2], KEYS[3]
local nchan = tonumber(ARGV[8])
local m = redis.call('HMGET', rec, 'st', 'u')
if not m[1] then return {'unknown'} end
if m[1] ~= 'open' then return {'ended', m[1]} end
local now = now_ms()
local idle = tonumber(ARGV[6])
if idle > 0 and now - (tonumber(m[2]) or 0) < idle then return {'active'} end
redis.call('HSET', rec, 'st', ARGV[3], 'r', ARGV[4], 'u', int(now))
redis.call('PEXPIRE', rec, int(tonumber(ARGV[5])))
redis.call('DEL', text, runs)
for i = 1, nchan do redis.call('SREM', KEYS[3 + i], ARGV[7]) end
local out = publish_items(3 + nchan, 6, (#KEYS - 3 - nchan) / 3, ARGV[1], ARGV[2])
table.insert(out, 1, int(now))
table.insert(out, 1, 'ok')
return out
`;
}

/**
 * KEYS: the channel's meta, history and open-stream set, then per member: record, text, runs.
 * ARGV: run id, epoch candidate, metaTtlMs for a stream position created by this read, then the
 *       members read from the set just before (`<id>\t<home>`).
 * Returns `{'retry'}` when the set changed since, else `{'ok', epoch, offset, then per open
 * stream: member, meta, text, runs}`. Members whose record is gone are removed.
 */
export const STREAM_SNAPSHOT_LUA = `${COMMON}
local meta, hist, set = KEYS[1], KEYS[2], KEYS[3]
local n = #ARGV - 3
if redis.call('SCARD', set) ~= n then return {'retry'} end
for i = 1, n do
  if redis.call('SISMEMBER', set, ARGV[3 + i]) == 0 then return {'retry'} end
end
local run_id = ARGV[1]
if run_id == '' then run_id = own_run_id() end
local epoch, offset, _, created = load_meta(meta, hist, run_id, ARGV[2])
if created then redis.call('PEXPIRE', meta, int(tonumber(ARGV[3]))) end
local out = {'ok', epoch, offset}
for i = 1, n do
  local k = 3 + 3 * (i - 1)
  local m = redis.call('HMGET', KEYS[k + 1], 'st', 'm')
  if m[1] == 'open' then
    out[#out + 1] = ARGV[3 + i]
    out[#out + 1] = m[2]
    out[#out + 1] = redis.call('GET', KEYS[k + 2]) or ''
    out[#out + 1] = redis.call('LRANGE', KEYS[k + 3], 0, -1)
  elseif not m[1] then
    redis.call('SREM', set, ARGV[3 + i])
  end
end
return out
`;
