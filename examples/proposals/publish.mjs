// Streams a validation run of proposal N to its SSE stream and its project. Usage: node publish.mjs N [PROJECT]
const base = `http://127.0.0.1:${process.env.PORT ?? 5009}`;
const proposal = process.argv[2] ?? '42';
const project = process.argv[3] ?? '1';

async function send(message) {
  const response = await fetch(`${base}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.WEBHOOK_TOKEN}` },
    body: JSON.stringify({ channels: [`proposal:${proposal}`, `project:${project}`], event: message.type, data: message }),
  });
  if (!response.ok) {
    console.error(response.status, await response.text());
    process.exitCode = 1;
  }
}

await send({ type: 'validation_start', proposal_id: Number(proposal) });
for (const line of ['checking schema', 'checking references', 'ok']) await send({ type: 'output', line, stream: 'stdout' });
await send({ type: 'validation_complete', status: 'passed', summary: { errors: 0, warnings: 0 } });
