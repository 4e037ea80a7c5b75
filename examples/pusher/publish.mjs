// Announces a shipped order as an app's backend does with the pusher SDK (Laravel's
// broadcast() calls the same API). Usage: node examples/pusher/publish.mjs ORDER_ID
// PUSHER_APP_ID, PUSHER_APP_KEY, PUSHER_APP_SECRET as in herald.yaml; PORT: Herald's (default 6001).
import Pusher from 'pusher';

const env = process.env;
const missing = ['PUSHER_APP_ID', 'PUSHER_APP_KEY', 'PUSHER_APP_SECRET'].filter((name) => !env[name]);
if (missing.length > 0) {
  console.error(`${missing.join(', ')} not set: give the app's credentials as in herald.yaml`);
  process.exit(1);
}
const pusher = new Pusher({ appId: env.PUSHER_APP_ID, key: env.PUSHER_APP_KEY, secret: env.PUSHER_APP_SECRET, host: '127.0.0.1', port: env.PORT ?? '6001', useTLS: false });
const id = process.argv[2] ?? '1';
try {
  const response = await pusher.trigger('orders', 'order-shipped', { id });
  console.log(`order ${id} shipped: ${response.status}`);
} catch (err) {
  console.error(`publish failed: ${err.status ?? ''} ${err.body ?? err.message}`);
  process.exit(1);
}
