import type { Target } from '../target.js';
import { heraldRedis, heraldSocketIo, heraldSse, heraldWs } from './herald.js';
import { heraldRedisReplica, heraldRedisWait } from './herald-redis-wait.js';
import { socketioPlain, socketioRedis, uws, wsCorked, wsReference } from './peers.js';

/** Every target, peers first (their rows are the baselines of the ratios). */
export const allTargets: Target[] = [wsReference, wsCorked, uws, socketioPlain, socketioRedis, heraldWs, heraldSocketIo, heraldSse, heraldRedis, heraldRedisReplica, heraldRedisWait];
