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
-- under an old epoch, and the old history goes with it. Also returns the meta's expiry deadline
-- (x, Redis ms, false when unknown) and its history flag (h: '0' when the history is known to be
-- gone, anything else when it may hold entries), which only the publish script writes.
local function load_meta(meta, hist, run_id, candidate)
  local m = redis.call('HMGET', meta, 'e', 'o', 't', 'r', 'x', 'h')
  if m[1] and m[4] == run_id then
    return m[1], tonumber(m[2]), (m[3] and tonumber(m[3])) or 0, false, tonumber(m[5]) or false, m[6]
  end
  redis.call('DEL', meta, hist)
  redis.call('HSET', meta, 'e', candidate, 'o', 0, 't', 0, 'r', run_id, 'h', '0')
  return candidate, 0, 0, true, false, '0'
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
 * ARGV: run id ('' on a cluster: the script asks the shard), epoch candidates (EPOCH_CANDIDATE_LENGTH
 *       characters per item, concatenated), then the items (see publishItemsLua).
 * Returns three entries per item (see publishItemsLua).
 */
export function publishLua(sharded: boolean): string {
  return `${COMMON}${publishItemsLua(sharded)}
return publish_items(0, 0, #KEYS / 3, ARGV[1], ARGV[2])
`;
}

/**
 * Lua defining `publish_items(key_base, arg_base, n, run_id, candidates)`: publishes n items whose
 * keys start after KEYS[key_base] (3 each: meta, history, idempotency) and whose arguments start
 * after ARGV[2 + arg_base]: the number of option sets T, T times (history size, history ttlMs,
 * metaTtlMs, idempotency ttlMs or 0), then per item its option set (1 to T), pub/sub channel and
 * body (see encodePublishBody). Shared with the stream scripts (redis-stream-scripts.ts), whose
 * writes publish in the same atomic step. Needs COMMON.
 *
 * The items of one channel are published together, in item order: the meta is read once and
 * written once (offset, and the TTL only when it has run down by a sixteenth, so the meta lives
 * metaTtlMs to 17/16 metaTtlMs after the last publish), history is trimmed once, and one
 * message carries them all: `p<publication JSON>` each, joined by newlines (JSON.stringify writes none).
 * Channels go in the order of their first item; the order across channels is not defined.
 *
 * Returns `{status, a, b, ...}`, three entries per item in item order: status 0 stored (a: the
 * offset, b: the epoch), 1 duplicate (a: the stored publication JSON), 2 failed (a: the error).
 */
export function publishItemsLua(sharded: boolean): string {
  return `${publishMessageLua(sharded)}
-- One item of a channel (state c, see publish_items). Returns 1 and the stored JSON for a
-- duplicate, else 0 once the item is stored; its message goes out with the channel's.
local function publish_one(c, idem, i, size, ttl, meta_ttl, idem_ttl, body)
  if idem_ttl > 0 then
    local seen = redis.call('GET', idem)
    if seen then return 1, seen end
  end
  if not c.epoch then
    local w = ${EPOCH_CANDIDATE_LENGTH}
    c.epoch, c.offset, c.ttl, c.created, c.deadline, c.hist_flag = load_meta(c.meta, c.hist, c.run_id, string.sub(c.candidates, w * (i - 1) + 1, w * i))
    c.stored_offset, c.stored_ttl, c.stored_flag = c.offset, c.ttl, c.hist_flag
  end
  c.offset = c.offset + 1
  c.ttl, c.meta_ttl = ttl, meta_ttl
  local offset = int(c.offset)
  local message = 'p{"offset":' .. offset .. ',"epoch":"' .. c.epoch .. '",' .. body

  if size > 0 and ttl > 0 then
    redis.call('XADD', c.hist, 'MAXLEN', int(size), offset .. '-0', 't', int(c.now()), 'p', string.sub(message, 2))
    c.hist_flag = '1'
    -- Trimming once with the shortest TTL appended since the last drop is what trimming after each would leave.
    if not c.trim_ttl or ttl < c.trim_ttl then c.trim_ttl = ttl end
    c.hist_ttl = ttl
  elseif c.hist_flag ~= '0' then
    redis.call('DEL', c.hist)
    c.hist_flag, c.trim_ttl = '0', false
  end

  if idem_ttl > 0 then redis.call('SET', idem, string.sub(message, 2), 'PX', int(idem_ttl)) end
  c.count = c.count + 1
  c.messages[c.count] = message
  return 0
end

-- What one channel's items leave in the meta and the history, then its one message.
local function finish_channel(c)
  if not c.epoch then return end
  if c.trim_ttl then
    trim_expired(c.hist, c.now() - c.trim_ttl)
    -- Every entry is older than the newest, so the whole stream may go when the newest does.
    redis.call('PEXPIRE', c.hist, int(c.hist_ttl))
  end
  local meta_ttl = c.meta_ttl
  local slack = math.floor(meta_ttl / 16)
  local left = c.deadline and (c.deadline - c.now())
  local refresh = meta_ttl <= 0 or not left or left < meta_ttl or left > meta_ttl + slack
  if refresh or c.ttl ~= c.stored_ttl or c.hist_flag ~= c.stored_flag then
    local fields = {'o', int(c.offset), 't', int(c.ttl), 'h', c.hist_flag or '1'}
    if refresh then fields[7] = 'x'; fields[8] = int(c.now() + meta_ttl + slack) end
    redis.call('HSET', c.meta, unpack(fields))
    if refresh then redis.call('PEXPIRE', c.meta, int(meta_ttl + slack)) end
  elseif c.offset ~= c.stored_offset then
    redis.call('HSET', c.meta, 'o', int(c.offset))
  end
  if c.count > 0 then publish_message(c.channel, table.concat(c.messages, '\\n', 1, c.count)) end
end

local function publish_items(key_base, arg_base, n, run_id, candidates)
  if run_id == '' then run_id = own_run_id() end
  local a = 2 + arg_base
  local options = {}
  local nopts = tonumber(ARGV[a + 1])
  for j = 1, nopts do
    local b = a + 1 + 4 * (j - 1)
    options[tostring(j)] = {tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])}
  end
  local first = a + 1 + 4 * nopts
  local time = false
  local function now()
    if not time then time = now_ms() end
    return time
  end

  -- Each channel's items as a chain (after[i]: the next item of i's channel), channels in the order of their first item.
  local last, after, heads = {}, {}, {}
  for i = 1, n do
    local meta = KEYS[key_base + 3 * i - 2]
    local prev = last[meta]
    if prev then after[prev] = i else heads[#heads + 1] = i end
    last[meta] = i
  end

  local out = {}
  -- One channel's state, reused from channel to channel.
  local c = {meta = false, hist = false, channel = false, run_id = run_id, candidates = candidates, now = now, messages = {}, count = 0,
    epoch = false, offset = 0, ttl = 0, created = false, deadline = false, hist_flag = false, stored_offset = 0, stored_ttl = 0,
    stored_flag = false, meta_ttl = 0, trim_ttl = false, hist_ttl = 0}
  for h = 1, #heads do
    local i = heads[h]
    c.meta, c.hist, c.channel = KEYS[key_base + 3 * i - 2], KEYS[key_base + 3 * i - 1], ARGV[first + 3 * i - 1]
    c.epoch, c.count, c.trim_ttl = false, 0, false
    while i do
      local k, b = key_base + 3 * (i - 1), first + 3 * (i - 1)
      local o = options[ARGV[b + 1]]
      local ok, status, json = pcall(publish_one, c, KEYS[k + 3], i, o[1], o[2], o[3], o[4], ARGV[b + 3])
      local at = 3 * (i - 1)
      if not ok then
        -- A failed redis.call raises a table with the reply's message in err (Redis 7), or a string.
        out[at + 1], out[at + 2], out[at + 3] = 2, (type(status) == 'table' and status.err) or tostring(status), ''
      elseif status == 1 then
        out[at + 1], out[at + 2], out[at + 3] = 1, json, ''
      else
        out[at + 1], out[at + 2], out[at + 3] = 0, c.offset, c.epoch
      end
      i = after[i]
    end
    local ok, err = pcall(finish_channel, c)
    if not ok then
      -- The channel's offsets or its message did not go out: its stored items are not acknowledged.
      local message = (type(err) == 'table' and err.err) or tostring(err)
      i = heads[h]
      while i do
        local at = 3 * (i - 1)
        if out[at + 1] == 0 then out[at + 1], out[at + 2], out[at + 3] = 2, message, '' end
        i = after[i]
      end
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
