// A bench-started redis-server on a free port, pinned with the servers: the multi-node targets'
// bus. Never the machine's own Redis.
import { freePort, waitForPort } from '../ports.js';
import { spawnChild, type Child } from '../processes.js';
import { SERVER_CORE, TargetUnavailable } from '../target.js';

export async function startRedis(host: string, extraArgs: string[] = []): Promise<{ redis: Child; url: string }> {
  const port = await freePort();
  const redis = spawnChild({
    name: 'redis-server',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no', ...extraArgs],
    core: SERVER_CORE,
  });
  try {
    await waitForPort(port, 5000, () => redis.exited());
  } catch (err) {
    await redis.stop();
    throw new TargetUnavailable(`no Redis: ${(err as Error).message}`);
  }
  return { redis, url: `redis://${host}:${port}` };
}
