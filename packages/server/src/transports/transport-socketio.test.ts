import { CloseCode } from '@herald/protocol';
import { openSocketIoReceiver } from '../testing/socketio-receiver.js';
import { runTransportSuite } from './transport.case.js';

runTransportSuite({
  name: 'Socket.IO',
  open: openSocketIoReceiver,
  // `connect_error` with data.code 4001; at shutdown the transport closes, which stock clients reconnect after.
  expect: { unauthorized: CloseCode.Unauthorized, forbidden: 'forbidden', shutdown: 'transport close' },
  resumesAsOneStream: true,
});
