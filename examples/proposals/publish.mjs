// Streams a validation run of proposal N to its SSE stream and its project. Usage: node publish.mjs N [PROJECT]
// It needs the gateway's WEBHOOK_TOKEN (an API key) and, when the gateway is not on 5009, its PORT:
//   PORT=5009 WEBHOOK_TOKEN=backend-secret node examples/proposals/publish.mjs 42
const base = `http://127.0.0.1:${process.env.PORT || 5009}`;
const webhookToken = process.env.WEBHOOK_TOKEN;
if (!webhookToken) {
  console.error(`WEBHOOK_TOKEN is not set: give it the gateway's value (and PORT, if not 5009), e.g.\n  PORT=5009 WEBHOOK_TOKEN=backend-secret node examples/proposals/publish.mjs 42`);
  process.exit(2);
}
const proposal = process.argv[2] ?? '42';
const project = process.argv[3] ?? '1';

async function send(message) {
  const response = await fetch(`${base}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${webhookToken}` },
    body: JSON.stringify({ channels: [`proposal:${proposal}`, `project:${project}`], event: message.type, data: message }),
  });
  if (!response.ok) {
    console.error(response.status, await response.text());
    process.exitCode = 1;
  } else {
    console.log(message.type, response.status, await response.text());
  }
}

await send({ type: 'validation_start', proposal_id: Number(proposal) });
for (const line of ['checking schema', 'checking references', 'ok']) await send({ type: 'output', line, stream: 'stdout' });
await send({ type: 'validation_complete', status: 'passed', summary: { errors: 0, warnings: 0 } });
