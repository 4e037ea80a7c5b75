// The two peers every Herald figure is compared with, each in its own pinned process.
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from '../ports.js';
import { maxFiles, spawnChild } from '../processes.js';
import { SERVER_CORE, type RunningTarget, type StartOptions, type Target } from '../target.js';
import type { Dialect } from '../plan.js';

const HOST = '127.0.0.1';

function peer(name: string, script: string, dialect: Dialect, path: string, description: string): Target {
  return {
    name,
    peer: true,
    nodes: 1,
    description,
    async start(options: StartOptions): Promise<RunningTarget> {
      const port = await freePort();
      const profile = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
      const child = spawnChild({
        name,
        args: [...profile, fileURLToPath(new URL(`../peers/${script}`, import.meta.url))],
        core: SERVER_CORE,
        env: { ...process.env, PORT: String(port) },
        ipc: true,
        nofile: maxFiles(options.connections + 1000),
      });
      try {
        await waitForPort(port, 10_000, () => child.exited());
      } catch (err) {
        await child.stop();
        throw err;
      }
      return {
        url: `http://${HOST}:${port}`,
        pids: [child.pid],
        helperPids: [],
        clients: { dialect, host: HOST, ports: [port], path },
        publish: { host: HOST, port, path: '/publish', batchPath: '/publish/batch', headers: {} },
        stop: () => child.stop(),
      };
    },
  };
}

export const wsReference = peer(
  'ws-reference',
  'ws-reference.js',
  'ws-plain',
  '/?room={room}',
  'minimal `ws` server, each publication framed once',
);

export const socketioPlain = peer(
  'socketio-plain',
  'socketio-plain.js',
  'socketio',
  '/socket.io/?EIO=4&transport=websocket&room={room}',
  'plain socket.io 4.x, io.to(room).emit()',
);
