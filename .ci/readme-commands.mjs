#!/usr/bin/env node
// README.md's quick start, typed as a newcomer types it, in this clone right after `npm ci`:
// `npx herald --help`; `npm start`; every `npx herald ...` line of README.md's sh blocks, in
// order, against that gateway; and the WebSocket exchange the README describes (connect with the
// minted token, send its subscribe frame, receive the publication). The commands are run as
// written through `sh -c`; only the port differs (a free one instead of 5009, given to the gateway
// and the commands as PORT, which both read). Exits non-zero, saying which line failed.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
process.chdir(ROOT);
const readme = readFileSync('README.md', 'utf8');
const env = { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };

function fail(message) {
  console.error(`readme-commands: ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

function sh(line) {
  console.log(`$ ${line}`);
  const r = spawnSync('sh', ['-c', line], { env, encoding: 'utf8', timeout: 60_000 });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0) fail(`"${line}" exited with ${r.status ?? r.signal}`);
  return r.stdout;
}

/** Lines of the README's sh blocks that start with `npx herald`, trailing comments removed. */
const lines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1].split('\n'))
  .map((l) => l.replace(/\s+#\s.*$/, '').trim())
  .filter((l) => l.startsWith('npx herald '));
if (!lines.some((l) => l.startsWith('npx herald token')) || !lines.some((l) => l.startsWith('npx herald publish'))) {
  fail(`README.md's sh blocks have no "npx herald token" and "npx herald publish" lines: ${JSON.stringify(lines)}`);
}
const subscribe = /sends\s+`(\{[^`]*"type":"subscribe"[^`]*\})`/.exec(readme)?.[1] ?? fail('README.md names no subscribe frame');
const expected = /receives\s+`(\{[^`]*"type":"pub"[^`]*?),\.\.\.\}`/.exec(readme)?.[1] ?? fail('README.md names no pub frame');
const expectedPub = JSON.parse(`${expected}}`);

sh('npx herald --help');

// `npm start`, on a free port; the banner says where it listens.
const gateway = spawn('npm', ['start'], { env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
let banner = '';
gateway.stdout.on('data', (c) => (banner += c));
gateway.stderr.on('data', (c) => (banner += c));
const stop = () => {
  try {
    process.kill(-gateway.pid, 'SIGTERM');
  } catch {
    // already gone
  }
};
process.on('exit', stop);

try {
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL within 20 s:\n${banner}`)), 20_000);
    gateway.stdout.on('data', check);
    gateway.stderr.on('data', check);
    gateway.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${banner}`)));
    function check() {
      const m = /Herald listening on (http:\/\/\S+)/.exec(banner);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    }
  }).catch((err) => fail(err.message));
  console.log(`$ npm start\n${banner.trim()}`);
  // What the README says `npm start` prints.
  for (const [what, pattern] of [
    ['the URL', /Herald listening on http:\/\//],
    ['a dev API key', /Dev API key: \S+/],
    ['the command that mints a dev token', /npx herald token --sub/],
  ]) {
    if (!pattern.test(banner)) fail(`npm start does not print ${what}`);
  }
  env.PORT = new URL(url).port;

  let token;
  let client;
  for (const line of lines) {
    if (line.startsWith('npx herald publish')) {
      if (!token) fail(`"${line}" comes before a token line`);
      client ??= await subscribed(url, token);
      sh(line);
      const pub = await client.next;
      for (const [k, v] of Object.entries(expectedPub)) {
        if (JSON.stringify(pub[k]) !== JSON.stringify(v)) fail(`received ${JSON.stringify(pub)}, README.md says ${expected},...}`);
      }
      console.log(`received ${JSON.stringify(pub)}`);
    } else {
      const out = sh(line).trim();
      if (line.startsWith('npx herald token')) token = out;
    }
  }
  client?.ws.close();
  console.log('readme-commands: README.md quick start works as written');
} finally {
  stop();
}

/** Connects as the README says (`ws://.../ws?token=<jwt>`), sends its subscribe frame, and waits for the answer. */
async function subscribed(url, jwt) {
  const wsUrl = `${url.replace(/^http/, 'ws')}/ws?token=${jwt}`;
  const ws = new WebSocket(wsUrl);
  const frames = [];
  const waiters = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    frames.push(frame);
    for (const w of waiters.splice(0)) if (!w(frame)) waiters.push(w);
  });
  const wait = (match, what) =>
    new Promise((resolve, reject) => {
      const seen = frames.find(match);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`no ${what} within 5 s; frames: ${JSON.stringify(frames)}`)), 5000);
      waiters.push((f) => match(f) && (clearTimeout(timer), resolve(f), true));
    });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }).catch((err) => fail(`cannot connect to ${wsUrl.replace(/token=.*/, 'token=...')}: ${err.message}`));
  console.log(`connected to ${wsUrl.replace(/token=.*/, 'token=<jwt>')}, sending ${subscribe}`);
  ws.send(subscribe);
  const { id } = JSON.parse(subscribe);
  const reply = await wait((f) => f.id === id, 'answer to the subscribe frame').catch((err) => fail(err.message));
  if (reply.error) fail(`subscribe refused: ${JSON.stringify(reply)}`);
  return { ws, next: wait((f) => f.type === 'pub', 'pub frame').catch((err) => fail(err.message)) };
}
