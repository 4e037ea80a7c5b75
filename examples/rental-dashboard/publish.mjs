// The backend's DashboardEventsService, reduced to HTTP calls. Usage: node publish.mjs TENANT
// It needs the gateway's WEBHOOK_TOKEN (an API key) and, when the gateway is not on 5009, its PORT:
//   PORT=5009 WEBHOOK_TOKEN=backend-secret node examples/rental-dashboard/publish.mjs acme
const base = `http://127.0.0.1:${process.env.PORT || 5009}`;
const webhookToken = process.env.WEBHOOK_TOKEN;
if (!webhookToken) {
  console.error(`WEBHOOK_TOKEN is not set: give it the gateway's value (and PORT, if not 5009), e.g.\n  PORT=5009 WEBHOOK_TOKEN=backend-secret node examples/rental-dashboard/publish.mjs acme`);
  process.exit(2);
}
const tenant = process.argv[2] ?? 'acme';

async function broadcast(type, data) {
  const event = { eventId: crypto.randomUUID(), timestamp: new Date().toISOString(), type, data };
  const response = await fetch(`${base}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${webhookToken}` },
    // The eventId doubles as the idempotency key: a retry is not delivered twice.
    body: JSON.stringify({ tenant, channel: 'dashboard', event: type, data: event, idempotencyKey: event.eventId }),
  });
  console.log(type, response.status, await response.text());
  if (!response.ok) process.exitCode = 1;
}

await broadcast('stock_alert', { productId: 'p1', productName: 'Fúrógép', currentQuantity: 1, threshold: 3, locationId: 'l1', locationName: 'Budapest', severity: 'CRITICAL' });
await broadcast('payment_error', { transactionId: 't1', errorCode: 'DECLINED', errorMessage: 'Kártya elutasítva', partnerId: 'c1', partnerName: 'Kovács Kft.', amount: 12000, currency: 'HUF' });
await broadcast('rental_created', { rentalId: 'r1', partnerId: 'c1', partnerName: 'Kovács Kft.', equipmentCount: 3, totalValue: 45000, currency: 'HUF' });
