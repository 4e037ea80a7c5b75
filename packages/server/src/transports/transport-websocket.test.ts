import { CloseCode } from '@herald/protocol';
import { openWebSocketReceiver } from '../testing/ws-receiver.js';
import { runTransportSuite } from './transport.case.js';

runTransportSuite({
  name: 'WebSocket',
  open: openWebSocketReceiver,
  expect: { unauthorized: CloseCode.Unauthorized, forbidden: 'forbidden', shutdown: CloseCode.ServiceRestart },
  resumesAsOneStream: false,
});
