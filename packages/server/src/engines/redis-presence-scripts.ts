/**
 * Lua for presence and the connection registry. Every entry carries an expiry (Redis clock) in a
 * sorted set; each script first purges what has expired, so a dead node's entries vanish from
 * answers within the TTL even though no one removes them. Live nodes push their entries' expiry
 * forward with the refresh scripts, which also re-add entries that Redis lost (flush, restart).
 * `first`/`last` are decided inside the script, so concurrent joins on two nodes cannot both
 * (or neither) be the user's first.
 *
 * A purge that leaves a user with no connection appends `[user, info JSON or '']` (cjson) to the
 * group's "gone" list; the next refresh, by whichever live node runs it, takes the list, so each
 * departure of a crashed node's user is announced once.
 */

const COMMON = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function int(n)
  return string.format('%.0f', n)
end

-- Gone lists wait this long for a live node's refresh; none comes when no node serves the group.
local GONE_TTL_MS = 3600000

local function report_gone(gone, uid, info)
  redis.call('RPUSH', gone, cjson.encode({uid, info or ''}))
  redis.call('PEXPIRE', gone, GONE_TTL_MS)
end

-- Takes the gone list (see report_gone).
local function take_gone(gone)
  local out = redis.call('LRANGE', gone, 0, -1)
  if #out > 0 then redis.call('DEL', gone) end
  return out
end

-- Extends a key's TTL, never shortens it (another node may use a longer TTL).
local function extend(key, ttl)
  local cur = redis.call('PTTL', key)
  if cur ~= -2 and cur < ttl then redis.call('PEXPIRE', key, int(ttl)) end
end
`;

const PRESENCE_COMMON = `${COMMON}
local function purge(pres, exp, gone, now)
  local expired = redis.call('ZRANGEBYSCORE', exp, '-inf', int(now))
  for i = 1, #expired do
    local uid = redis.call('HGET', pres, 'c:' .. expired[i])
    if uid then
      redis.call('HDEL', pres, 'c:' .. expired[i])
      if redis.call('HINCRBY', pres, 'u:' .. uid, -1) <= 0 then
        report_gone(gone, uid, redis.call('HGET', pres, 'i:' .. uid))
        redis.call('HDEL', pres, 'u:' .. uid, 'i:' .. uid)
      end
    end
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', exp, '-inf', int(now)) end
end

-- Adds (or refreshes) one connection; returns 1 when it is the user's first.
local function add(pres, exp, cid, uid, info, expires)
  local first = 0
  if redis.call('HSETNX', pres, 'c:' .. cid, uid) == 1 then
    if redis.call('HINCRBY', pres, 'u:' .. uid, 1) == 1 then
      first = 1
      if info ~= '' then redis.call('HSET', pres, 'i:' .. uid, info) end
    end
  end
  redis.call('ZADD', exp, int(expires), cid)
  return first
end
`;

/**
 * KEYS: presence, expiry, gone. ARGV: ttlMs, connection, user, info JSON ('' for none).
 * Returns first (1: the user's first connection) + 2 * occupied (the channel had no connection).
 */
export const PRESENCE_JOIN_LUA = `${PRESENCE_COMMON}
local pres, exp, gone = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[1])
local now = now_ms()
purge(pres, exp, gone, now)
local occupied = 0
if redis.call('ZCARD', exp) == 0 then occupied = 2 end
local first = add(pres, exp, ARGV[2], ARGV[3], ARGV[4], now + ttl)
extend(pres, ttl)
extend(exp, ttl)
return first + occupied
`;

/**
 * KEYS: presence, expiry, gone. ARGV: ttlMs, then (connection, user, info JSON) triples.
 * Returns the gone list (see report_gone).
 */
export const PRESENCE_REFRESH_LUA = `${PRESENCE_COMMON}
local pres, exp, gone = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[1])
local now = now_ms()
purge(pres, exp, gone, now)
for i = 2, #ARGV, 3 do add(pres, exp, ARGV[i], ARGV[i + 1], ARGV[i + 2], now + ttl) end
extend(pres, ttl)
extend(exp, ttl)
return take_gone(gone)
`;

/**
 * KEYS: presence, expiry, gone. ARGV: connection. Returns last (1: the user's last connection)
 * + 2 * vacated (the channel has no connection left); 0 for an unknown connection.
 */
export const PRESENCE_LEAVE_LUA = `${PRESENCE_COMMON}
local pres, exp, gone = KEYS[1], KEYS[2], KEYS[3]
purge(pres, exp, gone, now_ms())
local uid = redis.call('HGET', pres, 'c:' .. ARGV[1])
if not uid then return 0 end
redis.call('HDEL', pres, 'c:' .. ARGV[1])
redis.call('ZREM', exp, ARGV[1])
local vacated = 0
if redis.call('ZCARD', exp) == 0 then vacated = 2 end
if redis.call('HINCRBY', pres, 'u:' .. uid, -1) <= 0 then
  redis.call('HDEL', pres, 'u:' .. uid, 'i:' .. uid)
  return 1 + vacated
end
return vacated
`;

/** KEYS: presence, expiry, gone. Returns the presence hash as a flat field/value array. */
export const PRESENCE_LIST_LUA = `${PRESENCE_COMMON}
purge(KEYS[1], KEYS[2], KEYS[3], now_ms())
return redis.call('HGETALL', KEYS[1])
`;

/** KEYS: presence, expiry, gone. Returns the number of connections. */
export const PRESENCE_COUNT_LUA = `${PRESENCE_COMMON}
purge(KEYS[1], KEYS[2], KEYS[3], now_ms())
return redis.call('ZCARD', KEYS[2])
`;

/**
 * The registry keeps, per tenant, a hash connection → user, a sorted set connection → expiry,
 * one sorted set per user, connection → connectedAt (named by the user prefix + user id, in the
 * tenant's hash tag), a hash user → announce JSON and the gone list.
 */
const CONNECTIONS_COMMON = `${COMMON}
local function purge(conns, exp, user_prefix, info, gone, now)
  local expired = redis.call('ZRANGEBYSCORE', exp, '-inf', int(now))
  for i = 1, #expired do
    local uid = redis.call('HGET', conns, expired[i])
    if uid then
      redis.call('ZREM', user_prefix .. uid, expired[i])
      redis.call('HDEL', conns, expired[i])
      if redis.call('ZCARD', user_prefix .. uid) == 0 then
        report_gone(gone, uid, redis.call('HGET', info, uid))
        redis.call('HDEL', info, uid)
      end
    end
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', exp, '-inf', int(now)) end
end

local function add(conns, exp, user_prefix, info, cid, uid, connected_at, announce, expires, ttl)
  local user = user_prefix .. uid
  redis.call('HSET', conns, cid, uid)
  redis.call('ZADD', exp, int(expires), cid)
  redis.call('ZADD', user, connected_at, cid)
  if announce ~= '' then redis.call('HSET', info, uid, announce) end
  extend(user, ttl)
  return user
end
`;

/**
 * KEYS: connections, expiry, info, gone. ARGV: user prefix, ttlMs, connection, user, connectedAt,
 * announce JSON ('' for none). Returns the user's connections, oldest first, as a flat
 * (connection, connectedAt) array.
 */
export const CONNECTIONS_ADD_LUA = `${CONNECTIONS_COMMON}
local conns, exp, info, gone, user_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1]
local ttl = tonumber(ARGV[2])
local now = now_ms()
purge(conns, exp, user_prefix, info, gone, now)
local user = add(conns, exp, user_prefix, info, ARGV[3], ARGV[4], ARGV[5], ARGV[6], now + ttl, ttl)
extend(conns, ttl)
extend(exp, ttl)
extend(info, ttl)
return redis.call('ZRANGE', user, 0, -1, 'WITHSCORES')
`;

/**
 * KEYS: connections, expiry, info, gone. ARGV: user prefix, ttlMs, then (connection, user,
 * connectedAt, announce JSON) quadruples. Returns the gone list (see report_gone).
 */
export const CONNECTIONS_REFRESH_LUA = `${CONNECTIONS_COMMON}
local conns, exp, info, gone, user_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1]
local ttl = tonumber(ARGV[2])
local now = now_ms()
purge(conns, exp, user_prefix, info, gone, now)
for i = 3, #ARGV, 4 do add(conns, exp, user_prefix, info, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], now + ttl, ttl) end
extend(conns, ttl)
extend(exp, ttl)
extend(info, ttl)
return take_gone(gone)
`;

/**
 * KEYS: connections, expiry, info, gone. ARGV: user prefix, connection. Returns last (0|1); 0 for
 * an unknown connection.
 */
export const CONNECTIONS_REMOVE_LUA = `${CONNECTIONS_COMMON}
local conns, exp, info, gone, user_prefix = KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1]
purge(conns, exp, user_prefix, info, gone, now_ms())
local uid = redis.call('HGET', conns, ARGV[2])
if not uid then return 0 end
redis.call('HDEL', conns, ARGV[2])
redis.call('ZREM', exp, ARGV[2])
redis.call('ZREM', user_prefix .. uid, ARGV[2])
if redis.call('ZCARD', user_prefix .. uid) == 0 then
  redis.call('HDEL', info, uid)
  return 1
end
return 0
`;

/** KEYS: connections, expiry, info, gone. ARGV: user prefix. Returns the number of connections in the tenant. */
export const CONNECTIONS_COUNT_LUA = `${CONNECTIONS_COMMON}
purge(KEYS[1], KEYS[2], ARGV[1], KEYS[3], KEYS[4], now_ms())
return redis.call('HLEN', KEYS[1])
`;
