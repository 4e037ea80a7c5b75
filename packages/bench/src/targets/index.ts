import type { Target } from '../target.js';
import { heraldRedis, heraldSocketIo, heraldSse, heraldWs } from './herald.js';
import { socketioPlain, wsReference } from './peers.js';

/** Every target, peers first (their rows are the baselines of the ratios). */
export const allTargets: Target[] = [wsReference, socketioPlain, heraldWs, heraldSocketIo, heraldSse, heraldRedis];
