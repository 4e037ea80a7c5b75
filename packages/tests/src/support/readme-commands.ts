import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const EXAMPLES = `${ROOT}examples/`;

/** The commands of an example README's sh blocks, one per command (`\` continuations joined). */
export function readmeCommands(profile: string): { serve: string; listen: string; tokenCommand: string; publish: string; text: string } {
  const text = readFileSync(`${EXAMPLES}${profile}/README.md`, 'utf8');
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].replace(/\\\n\s*/g, '').trim());
  const find = (what: string, test: (block: string) => boolean) => {
    const found = blocks.filter(test);
    assert.equal(found.length, 1, `${profile}/README.md has one sh block that ${what}: ${JSON.stringify(blocks)}`);
    return found[0];
  };
  const listen = find('mints a token and listens', (b) => b.includes('herald token') && b.includes('curl'));
  const tokenCommand = /^TOKEN=\$\((.*)\)$/m.exec(listen)?.[1];
  assert.ok(tokenCommand, `${profile}/README.md: TOKEN=$(...) line`);
  return {
    serve: find('serves', (b) => b.includes('herald serve')),
    listen,
    tokenCommand,
    publish: find('runs the publisher', (b) => b.includes(`examples/${profile}/publish.mjs`)),
    text,
  };
}

/** What the README's shell lines inherit: nothing of Herald's own variables, so the lines must set them. */
const SHELL_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };

export interface Shell {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(): void;
}

/** `sh -c LINE` in the repository root, in its own process group (npx and curl start children). */
export function shell(line: string): Shell {
  const child = spawn('sh', ['-c', line], { cwd: ROOT, env: SHELL_ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    output: () => output,
    exited,
    stop: () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

