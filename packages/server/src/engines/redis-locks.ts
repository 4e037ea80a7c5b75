import type { LockHolder, LockState, LockStore } from '../engine.js';
import { type RedisClient, defineScript, type ScriptCall } from './redis-client.js';
import { sorted } from './redis-errors.js';
import type { RedisKeys } from './redis-keys.js';

// KEYS[1] lock; ARGV: connection id, holder JSON, ttl ms. Takes or extends; answers {1|0, holder JSON, pttl}.
const ACQUIRE_LUA = `
local current = redis.call('GET', KEYS[1])
if current then
  local holder = cjson.decode(current)
  if holder.connectionId ~= ARGV[1] then
    return {0, current, redis.call('PTTL', KEYS[1])}
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1, ARGV[2], tonumber(ARGV[3])}
`;

// KEYS[1] lock; ARGV: connection id, ttl ms (refresh) or '' (release). 1 when this connection held it.
const HOLDER_LUA = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if cjson.decode(current).connectionId ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

/** See LockStore. A lock is one key holding its holder as JSON, with the TTL as the key's expiry. */
export class RedisLocks implements LockStore {
  private readonly acquireScript: ScriptCall;
  private readonly holderScript: ScriptCall;

  constructor(private readonly redis: RedisClient, private readonly names: RedisKeys) {
    this.acquireScript = defineScript(redis, 'heraldLockAcquire', ACQUIRE_LUA, 1);
    this.holderScript = defineScript(redis, 'heraldLockHolder', HOLDER_LUA, 1);
  }

  async acquire(key: string, holder: LockHolder, ttlMs: number): Promise<{ acquired: boolean; state: LockState }> {
    const ttl = Math.max(1, Math.round(ttlMs));
    const [ok, json, pttl] = (await this.acquireScript(this.names.lock(key), holder.connectionId, JSON.stringify(holder), ttl)) as [number, string, number];
    return { acquired: ok === 1, state: { holder: JSON.parse(json) as LockHolder, expiresAt: Date.now() + Math.max(0, pttl) } };
  }

  async refresh(key: string, connectionId: string, ttlMs: number): Promise<boolean> {
    return (await this.holderScript(this.names.lock(key), connectionId, Math.max(1, Math.round(ttlMs)))) === 1;
  }

  async release(key: string, connectionId: string): Promise<boolean> {
    return (await this.holderScript(this.names.lock(key), connectionId, '')) === 1;
  }

  async get(key: string): Promise<LockState | undefined> {
    const lock = this.names.lock(key);
    const [json, pttl] = await sorted(Promise.all([this.redis.get(lock), this.redis.pttl(lock)]));
    // pttl < 0: the key expired between the two reads.
    if (json === null || pttl < 0) return undefined;
    return { holder: JSON.parse(json) as LockHolder, expiresAt: Date.now() + pttl };
  }
}
