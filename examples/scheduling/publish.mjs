// The portal backend: a schedule changed, and a report is ready for USER. Usage: node publish.mjs USER
const base = `http://127.0.0.1:${process.env.PORT ?? 5009}`;
const user = process.argv[2] ?? 'alice';

async function publish(channel, event, data) {
  const response = await fetch(`${base}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.WEBHOOK_TOKEN}` },
    body: JSON.stringify({ channel, event, data }),
  });
  console.log(event, response.status, await response.text());
  if (!response.ok) process.exitCode = 1;
}

await publish('schedules', 'schedule:updated', { employeeId: 12, week: '2026-W48', changedBy: 'admin' });
await publish(`notifications:${user}`, 'notification:new', { module: 'Отчеты', text: 'Отчёт готов' });
