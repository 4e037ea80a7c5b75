// The tasks backend: a task changed in HOUSEHOLD at REVISION. Usage: node publish.mjs HOUSEHOLD REVISION
// It needs the gateway's WEBHOOK_TOKEN (an API key) and, when the gateway is not on 5009, its PORT:
//   PORT=5009 WEBHOOK_TOKEN=tasks-secret node examples/homeplanner/publish.mjs h1 1
const base = `http://127.0.0.1:${process.env.PORT || 5009}`;
const webhookToken = process.env.WEBHOOK_TOKEN;
if (!webhookToken) {
  console.error(`WEBHOOK_TOKEN is not set: give it the gateway's value (and PORT, if not 5009), e.g.\n  PORT=5009 WEBHOOK_TOKEN=tasks-secret node examples/homeplanner/publish.mjs h1 1`);
  process.exit(2);
}
const household = process.argv[2] ?? 'h1';
const revision = Number(process.argv[3] ?? 1);
const message = { event_type: 'TASK_UPDATED', entity_id: 'task-17', revision, payload: { title: 'Купить молоко', due: '2026-11-23T09:00:00' } };
const response = await fetch(`${base}/api/v1/publish`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${webhookToken}` },
  body: JSON.stringify({ tenant: household, channel: 'tasks', event: message.event_type, data: message, idempotencyKey: `task-17@${revision}` }),
});
console.log(response.status, await response.text());
if (!response.ok) process.exitCode = 1;
