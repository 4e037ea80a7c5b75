import { PusherCode } from '../pusher/codes.js';
import { pusherReceiver, type PusherTestApp } from '../testing/pusher-receiver.js';
import { runTransportSuite } from './transport.case.js';

/** An app per tenant the suite's tokens name. */
const APPS: PusherTestApp[] = ['default', 'acme', 'globex'].map((tenant) => ({ key: `${tenant}-key`, secret: `${tenant}-secret-0123456789`, tenant }));

runTransportSuite({
  name: 'Pusher',
  open: pusherReceiver(APPS),
  config: { pusher: { apps: APPS.map((app) => ({ id: `app-${app.tenant}`, ...app })) } },
  // A rule's refusal is a `pusher:subscription_error` with status 403; at shutdown, 4200: reconnect at once.
  expect: { forbidden: 403, shutdown: PusherCode.ReconnectNow },
  resumesAsOneStream: false,
  skip: {
    resume: 'protocol 7 replays nothing: a client back after a cut subscribes afresh and gets what is published from then on',
    roles: 'the app signs who a user is (pusher:signin, channel signatures), never their roles',
    tokens: "the app's auth endpoint checks its users' sessions; what reaches the gateway is its signature (a forged sign-in closes with 4009: packages/tests/src/pusher/raw-frames.test.ts)",
  },
  // An event is its name, channel and data: no id.
  ids: false,
  // Pusher channel names are 1-164 of A-Z a-z 0-9 _ - = @ , . ;
  oddChannel: 'city=Saratov;@,.-_',
});
