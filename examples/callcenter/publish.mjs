// A calls-service example: announces a new call to operators and to the operator's own room.
// It needs the gateway's WEBHOOK_TOKEN (an API key) and, when the gateway is not on 5009, its PORT:
//   PORT=5009 WEBHOOK_TOKEN=your-webhook-secret node examples/callcenter/publish.mjs
const base = `http://127.0.0.1:${process.env.PORT || 5009}`;
const webhookToken = process.env.WEBHOOK_TOKEN;
if (!webhookToken) {
  console.error(`WEBHOOK_TOKEN is not set: give it the gateway's value (and PORT, if not 5009), e.g.\n  PORT=5009 WEBHOOK_TOKEN=your-webhook-secret node examples/callcenter/publish.mjs`);
  process.exit(2);
}
const call = { id: Date.now(), phoneClient: '+7 900 000-00-00', phoneAts: '+7 8452 00-00-00', operatorId: 7, status: 'ringing' };
const response = await fetch(`${base}/api/v1/broadcast/call-new`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ token: webhookToken, call, rooms: ['operators', `operator:${call.operatorId}`] }),
});
console.log(response.status, await response.text());
if (!response.ok) process.exitCode = 1;
