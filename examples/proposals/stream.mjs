// Streams a real process's output through Herald, as the proposal tool's backend does.
//   node examples/proposals/stream.mjs validate 42   a validation: the validator's stdout and stderr, line by line
//   node examples/proposals/stream.mjs llm 42        an LLM iteration: the model's tokens; a viewer's cancel stops it
// It needs the gateway's WEBHOOK_TOKEN (an API key) and, when the gateway is not on 5009, its PORT.
import { spawn } from 'node:child_process';
import { request } from 'node:http';

const base = `http://127.0.0.1:${process.env.PORT || 5009}`;
const key = process.env.WEBHOOK_TOKEN;
if (!key) {
  console.error('WEBHOOK_TOKEN is not set: give it the gateway\'s value (and PORT, if not 5009), e.g.\n  PORT=5009 WEBHOOK_TOKEN=backend-secret node examples/proposals/stream.mjs llm 42');
  process.exit(2);
}
const [mode = 'validate', proposal = '42', project = '1'] = process.argv.slice(2);
const channels = [`proposal:${proposal}`, `project:${project}`];

async function api(path, body) {
  const response = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** POST /upload with a body that stays open: each write is one NDJSON line; resolves with Herald's answer, which may come first. */
function upload(id) {
  const req = request(`${base}/api/v1/streams/${id}/upload`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' } });
  const answer = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return { line: (message) => req.write(`${JSON.stringify(message)}\n`), end: () => req.end(), answer, abort: () => req.destroy() };
}

/** Lines of a child's stream as they come. */
function onLines(stream, each) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (data) => {
    const lines = (rest + data).split('\n');
    rest = lines.pop();
    for (const line of lines) each(line);
  });
  stream.on('end', () => rest && each(rest));
}

// The processes whose output is streamed: a validator that writes to stdout and stderr, and a
// stand-in for the LLM that writes a token every 20 ms until it is stopped.
const VALIDATOR = `for (const [s, l] of [['out','checking schema'],['out','checking references'],['err','warning: field "owner" is unused'],['out','2 files checked']]) { (s === 'out' ? process.stdout : process.stderr).write(l + '\\n'); await new Promise((r) => setTimeout(r, 50)); }`;
const MODEL = `const words = 'The proposal adds a reviewer step to the release flow and updates the docs accordingly .'.split(' '); let i = 0; setInterval(() => process.stdout.write(words[i++ % words.length] + ' \\n'), 20);`;

if (mode === 'validate') {
  const { id } = await api('/api/v1/streams', { channels, kind: 'lines', start: { type: 'validation_start', proposal_id: Number(proposal) }, failed: { type: 'validation_error', error: '' } });
  const up = upload(id);
  const child = spawn(process.execPath, ['--input-type=module', '-e', VALIDATOR], { stdio: ['ignore', 'pipe', 'pipe'] });
  let warnings = 0;
  onLines(child.stdout, (line) => up.line({ type: 'output', line, stream: 'stdout' }));
  onLines(child.stderr, (line) => (warnings += 1, up.line({ type: 'output', line, stream: 'stderr' })));
  const code = await new Promise((resolve) => child.on('close', resolve));
  up.end();
  console.log('upload', JSON.stringify(await up.answer));
  const status = code === 0 ? 'passed' : 'failed';
  console.log('complete', JSON.stringify(await api(`/api/v1/streams/${id}/complete`, { type: 'validation_complete', status, summary: { errors: code === 0 ? 0 : 1, warnings } })));
} else {
  const { id } = await api('/api/v1/streams', { channels, kind: 'tokens', start: { type: 'iteration_start', proposal_id: Number(proposal) }, cancelled: { type: 'iteration_cancelled' } });
  console.log('stream', id, 'open: cancel it as a viewer, or it completes after 10 s');
  const up = upload(id);
  const model = spawn(process.execPath, ['-e', MODEL], { stdio: ['ignore', 'pipe', 'inherit'] });
  onLines(model.stdout, (content) => up.line({ type: 'token', content }));
  const timer = setTimeout(() => up.end(), 10_000);
  const answer = await up.answer;
  const at = Date.now();
  // Herald answered the upload: cancelled by a viewer, or the body ended. Either way the model stops now.
  model.kill();
  clearTimeout(timer);
  up.abort();
  console.log('upload', JSON.stringify(answer));
  if (answer.status === 'cancelled') console.log(`cancelled: model process stopped ${Date.now() - at} ms after Herald's answer`);
  else console.log('complete', JSON.stringify(await api(`/api/v1/streams/${id}/complete`, { type: 'iteration_complete', files_modified: ['docs/release.md'], validation: { status: 'passed' } })));
}
