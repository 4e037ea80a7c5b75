// A calls-service example: announces a new call to operators and to the operator's own room.
// PORT and WEBHOOK_TOKEN as for the gateway.
const base = `http://127.0.0.1:${process.env.PORT ?? 5009}`;
const call = { id: Date.now(), phoneClient: '+7 900 000-00-00', phoneAts: '+7 8452 00-00-00', operatorId: 7, status: 'ringing' };
const response = await fetch(`${base}/api/v1/broadcast/call-new`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ token: process.env.WEBHOOK_TOKEN, call, rooms: ['operators', `operator:${call.operatorId}`] }),
});
console.log(response.status, await response.text());
if (!response.ok) process.exitCode = 1;
