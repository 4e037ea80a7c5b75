// A small app as a pusher-js or Laravel user writes one: a page, and the auth endpoint that
// signs private and presence channels and user sign-ins with the app secret (the pusher SDK).
// PUSHER_APP_ID, PUSHER_APP_KEY, PUSHER_APP_SECRET: the app's credentials, as in herald.yaml.
// HERALD_PORT: where Herald listens (default 6001); APP_PORT: this app's port (default 3000).
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import Pusher from 'pusher';

const env = process.env;
for (const name of ['PUSHER_APP_ID', 'PUSHER_APP_KEY', 'PUSHER_APP_SECRET']) {
  if (!env[name]) {
    console.error(`${name} is not set: give the app's credentials as in herald.yaml`);
    process.exit(1);
  }
}
const pusher = new Pusher({ appId: env.PUSHER_APP_ID, key: env.PUSHER_APP_KEY, secret: env.PUSHER_APP_SECRET, host: '127.0.0.1', port: env.HERALD_PORT ?? '6001', useTLS: false });
const pusherJs = createRequire(import.meta.url).resolve('pusher-js/dist/web/pusher.min.js');
const page = new URL('./index.html', import.meta.url);

/** The signed-in user: a real app takes it from its session; here the page says who it is. */
const userOf = (form) => {
  const name = (form.get('user') ?? '').slice(0, 40) || 'guest';
  return { id: name.toLowerCase(), user_info: { name } };
};

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let body = '';
  for await (const chunk of req) body += chunk;
  const form = new URLSearchParams(body);
  if (req.method === 'GET' && url.pathname === '/') {
    const html = (await readFile(page, 'utf8')).replace('{{KEY}}', env.PUSHER_APP_KEY).replace('{{PORT}}', env.HERALD_PORT ?? '6001');
    return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  }
  if (req.method === 'GET' && url.pathname === '/pusher.min.js') {
    return res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(pusherJs));
  }
  // Laravel's route for channel authorization; the same answer the pusher SDK gives everywhere.
  if (req.method === 'POST' && url.pathname === '/broadcasting/auth') {
    const channel = form.get('channel_name') ?? '';
    const user = userOf(form);
    const auth = channel.startsWith('presence-') ? pusher.authorizeChannel(form.get('socket_id'), channel, { user_id: user.id, user_info: user.user_info }) : pusher.authorizeChannel(form.get('socket_id'), channel);
    return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(auth));
  }
  if (req.method === 'POST' && url.pathname === '/broadcasting/user-auth') {
    return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(pusher.authenticateUser(form.get('socket_id'), userOf(form))));
  }
  res.writeHead(404).end('not found');
});
server.listen(Number(env.APP_PORT ?? 3000), '127.0.0.1', () => console.log(`app on http://127.0.0.1:${server.address().port}/`));
