import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig, signToken } from '@herald/server';
import { jsonRequest } from '@herald/server/testing';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = `${ROOT}packages/server/dist/cli.js`;

export const PROFILE_SECRET = 'profile-test-secret';
export const PROFILE_WEBHOOK = 'profile-test-webhook-token';

export interface ProfileServer {
  url: string;
  child: ChildProcess;
  /** What the gateway wrote to stderr so far: the start-up banner, then warnings. */
  stderr(): string;
  /** Mints a token the way the profile's backend would, with the profile's claims mapping. */
  token(claims: Record<string, unknown> & { sub: string }, ttlSeconds?: number): Promise<string>;
  /** POSTs JSON to the gateway; returns status and body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Runs `herald serve --config examples/<profile>/herald.yaml` as its README says, with PORT,
 * JWT_SECRET and WEBHOOK_TOKEN from the environment, on a free port.
 */
export async function startProfile(profile: string, env: Record<string, string> = {}): Promise<ProfileServer> {
  const configFile = `${ROOT}examples/${profile}/herald.yaml`;
  const fullEnv = { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', JWT_SECRET: PROFILE_SECRET, WEBHOOK_TOKEN: PROFILE_WEBHOOK, LOG_LEVEL: 'warn', ...env };
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { env: fullEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${profile} did not start: ${stderr}`)), 15_000);
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const m = /Herald listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${profile} exited with ${code}: ${stderr}`));
    });
  });
  const { config } = loadConfig({ file: configFile, env: fullEnv });
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const { status, body: answer } = await jsonRequest(url, method, path, body, headers);
    return { status, body: answer };
  };
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    child.kill('SIGKILL');
  };
  return {
    url,
    child,
    stderr: () => stderr,
    token: (claims, ttl = 3600) => signToken(config, claims, ttl),
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path, headers) => request('GET', path, undefined, headers),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
