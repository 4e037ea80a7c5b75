import { CloseCode } from '@herald/protocol';
import { openSseReceiver } from '../testing/sse-receiver.js';
import { runTransportSuite } from './transport.case.js';

runTransportSuite({
  name: 'SSE',
  open: openSseReceiver,
  // HTTP 401 before the stream starts; at shutdown a `close` event with 1012, then the stream ends.
  expect: { unauthorized: 401, forbidden: 'forbidden', shutdown: CloseCode.ServiceRestart },
  resumesAsOneStream: true,
});
