/**
 * Lua for the Redis broker. Each call is one script so that a key's offset, history, idempotency
 * record and PUBLISH happen atomically and in one order for every node.
 *
 * History is a Redis Stream whose entry ids are `<offset>-0` (fields `t`: Redis time in ms when
 * stored, `p`: the publication JSON). Using the offset as the id makes "after offset N" a plain
 * `XRANGE N+1 +` and "the newest N" an `XREVRANGE + - COUNT N`, `MAXLEN` trims by size on append,
 * and the stream's entries are in time order too, so TTL trimming pops from the head. A sorted
 * set would work as well; the stream needs no member encoding to stay unique.
 *
 * Times come from Redis (`TIME`), not from the nodes, so nodes with skewed clocks agree on TTLs.
 */

import { publishMessageLua } from './redis-cluster-publish.js';

/** Shared helpers, prepended to each script. */
export const COMMON = `
-- The run id of the Redis process running the script. Only asked for on a cluster, where each
-- shard is its own process and the caller cannot know for sure which one will run the script.
local function own_run_id()
  local ok, info = pcall(redis.call, 'INFO', 'server')
  return (ok and string.match(info, 'run_id:(%w+)')) or 'unknown'
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Lua prints big numbers in exponent form; Redis wants integers.
local function int(n)
  return string.format('%.0f', n)
end

-- The stream's epoch and offset. A missing meta, or one written by another Redis process
-- (a restart, even one that kept its data), starts a new epoch: offsets are never reused
-- under an old epoch, and the old history goes with it.
local function load_meta(meta, hist, run_id, candidate)
  local m = redis.call('HMGET', meta, 'e', 'o', 't', 'r')
  if m[1] and m[4] == run_id then
    return m[1], tonumber(m[2]), (m[3] and tonumber(m[3])) or 0, false
  end
  redis.call('DEL', meta, hist)
  redis.call('HSET', meta, 'e', candidate, 'o', 0, 't', 0, 'r', run_id)
  return candidate, 0, 0, true
end

-- An entry's field value by name ('t' or 'p'), or false. Herald writes t then p, but an entry
-- written by something else must not break a read.
local function field(entry, name)
  local fields = entry[2]
  for i = 1, #fields - 1, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return false
end

-- When an entry was stored; one without a readable time counts as expired.
local function stored_at(entry)
  return tonumber(field(entry, 't')) or 0
end

-- Drops entries stored at or before the cutoff; they are at the head, oldest first. Looks at
-- the head alone first: on most calls nothing has expired.
local function trim_expired(hist, cutoff)
  local batch = 1
  while true do
    local head = redis.call('XRANGE', hist, '-', '+', 'COUNT', batch)
    if #head == 0 then return end
    for i = 1, #head do
      if stored_at(head[i]) > cutoff then
        if i > 1 then redis.call('XTRIM', hist, 'MINID', head[i][1]) end
        return
      end
    end
    if #head < batch then
      redis.call('DEL', hist)
      return
    end
    local last = tonumber(string.match(head[#head][1], '^(%d+)'))
    redis.call('XTRIM', hist, 'MINID', int(last + 1))
    batch = 64
  end
end
`;

/** Epoch candidates travel as one string, this many characters each (6 random bytes in base64url). */
export const EPOCH_CANDIDATE_LENGTH = 8;

/**
 * Publishes many items, in order, in one call: each item as one publish would be (offset, append,
 * trim, PUBLISH, idempotency record). An item whose commands fail gets its error and the next
 * item still runs; what the failed item wrote before the failure stays, as it would for a lone
 * publish. On a Redis Cluster every key of one call must be in one slot: the broker splits a
 * batch by slot, and the pub/sub channel carries the keys' hash tag (SPUBLISH in the slot).
 *
 * KEYS: per item meta, history, idempotency.
 * ARGV: run id ('' on a cluster: the script asks the shard), epoch candidates (EPOCH_CANDIDATE_LENGTH characters per item, concatenated),
 *       then per item: size, ttlMs, metaTtlMs, idempotency ttlMs (0: none), pub/sub channel,
 *       body (see encodePublishBody).
 * Returns `{status, payload, ...}`, two entries per item: status 0 stored, 1 duplicate (payload:
 * the publication JSON), 2 failed (payload: the error message).
 */
export function publishLua(sharded: boolean): string {
  return `${COMMON}${publishItemsLua(sharded)}
return publish_items(0, 0, #KEYS / 3, ARGV[1], ARGV[2])
`;
}

/**
 * Lua defining `publish_items(key_base, arg_base, n, run_id, candidates)`: publishes n items whose
 * keys start after KEYS[key_base] (3 each) and whose arguments start after ARGV[2 + arg_base]
 * (6 each), as publishLua describes, and returns `{status, payload, ...}`. Shared with the stream
 * scripts (redis-stream-scripts.ts), whose writes publish in the same atomic step. Needs COMMON.
 */
export function publishItemsLua(sharded: boolean): string {
  return `${publishMessageLua(sharded)}
local function publish_one(meta, hist, idem, run_id, candidate, size, ttl, meta_ttl, idem_ttl, channel, body)
  if idem_ttl > 0 then
    local seen = redis.call('GET', idem)
    if seen then return 1, seen end
  end

  local epoch = load_meta(meta, hist, run_id, candidate)
  local offset = redis.call('HINCRBY', meta, 'o', 1)
  redis.call('HSET', meta, 't', int(ttl))
  redis.call('PEXPIRE', meta, int(meta_ttl))

  local json = '{"offset":' .. int(offset) .. ',"epoch":"' .. epoch .. '",' .. string.sub(body, 2)

  if size > 0 and ttl > 0 then
    local now = now_ms()
    redis.call('XADD', hist, 'MAXLEN', int(size), int(offset) .. '-0', 't', int(now), 'p', json)
    trim_expired(hist, now - ttl)
    -- Every entry is older than the newest, so the whole stream may go when the newest does.
    redis.call('PEXPIRE', hist, int(ttl))
  else
    redis.call('DEL', hist)
  end

  publish_message(channel, 'p' .. json)
  if idem_ttl > 0 then redis.call('SET', idem, json, 'PX', int(idem_ttl)) end
  return 0, json
end

local function publish_items(key_base, arg_base, n, run_id, candidates)
  if run_id == '' then run_id = own_run_id() end
  local width = ${EPOCH_CANDIDATE_LENGTH}
  local out = {}
  for i = 1, n do
    local k, a = key_base + 3 * (i - 1), 2 + arg_base + 6 * (i - 1)
    local ok, status, payload = pcall(publish_one, KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], run_id,
      string.sub(candidates, width * (i - 1) + 1, width * i),
      tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), ARGV[a + 5], ARGV[a + 6])
    if ok then
      out[#out + 1] = status
      out[#out + 1] = payload
    else
      -- A failed redis.call raises a table with the reply's message in err (Redis 7), or a string.
      out[#out + 1] = 2
      out[#out + 1] = (type(status) == 'table' and status.err) or tostring(status)
    end
  end
  return out
end
`;
}

/**
 * KEYS: meta, history.
 * ARGV: run id ('' on a cluster: the script asks the shard), epoch candidate, metaTtlMs for a stream created by this read,
 *       afterOffset ('' when absent), limit ('' when absent).
 * Returns `{epoch, offset, entry id, publication JSON (false when absent), ...}` in increasing
 * offset order.
 */
export const HISTORY_LUA = `${COMMON}
local meta, hist = KEYS[1], KEYS[2]
local run_id, candidate, default_meta_ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
if run_id == '' then run_id = own_run_id() end
local after, limit = tonumber(ARGV[4]), tonumber(ARGV[5])

local epoch, offset, ttl, created = load_meta(meta, hist, run_id, candidate)
if created then redis.call('PEXPIRE', meta, int(default_meta_ttl)) end
if ttl > 0 then trim_expired(hist, now_ms() - ttl) end

local out = {epoch, offset}
if limit == 0 then return out end

local entries
if after then
  if after >= offset then return out end
  local from = int(math.max(after, 0) + 1)
  if limit then
    entries = redis.call('XRANGE', hist, from, '+', 'COUNT', int(limit))
  else
    entries = redis.call('XRANGE', hist, from, '+')
  end
else
  if limit then
    local newest = redis.call('XREVRANGE', hist, '+', '-', 'COUNT', int(limit))
    entries = {}
    for i = #newest, 1, -1 do entries[#entries + 1] = newest[i] end
  else
    entries = redis.call('XRANGE', hist, '-', '+')
  end
end
for i = 1, #entries do
  out[#out + 1] = entries[i][1]
  out[#out + 1] = field(entries[i], 'p')
end
return out
`;
