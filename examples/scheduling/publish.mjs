// The portal backend: a schedule changed, and a report is ready for USER. Usage: node publish.mjs USER
// It needs the gateway's WEBHOOK_TOKEN (an API key) and, when the gateway is not on 5009, its PORT:
//   PORT=5009 WEBHOOK_TOKEN=portal-secret node examples/scheduling/publish.mjs alice
const base = `http://127.0.0.1:${process.env.PORT || 5009}`;
const webhookToken = process.env.WEBHOOK_TOKEN;
if (!webhookToken) {
  console.error(`WEBHOOK_TOKEN is not set: give it the gateway's value (and PORT, if not 5009), e.g.\n  PORT=5009 WEBHOOK_TOKEN=portal-secret node examples/scheduling/publish.mjs alice`);
  process.exit(2);
}
const user = process.argv[2] ?? 'alice';

async function publish(channel, event, data) {
  const response = await fetch(`${base}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${webhookToken}` },
    body: JSON.stringify({ channel, event, data }),
  });
  console.log(event, response.status, await response.text());
  if (!response.ok) process.exitCode = 1;
}

await publish('schedules', 'schedule:updated', { employeeId: 12, week: '2026-W48', changedBy: 'admin' });
await publish(`notifications:${user}`, 'notification:new', { module: 'Отчеты', text: 'Отчёт готов' });
