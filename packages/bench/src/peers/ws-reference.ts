// The raw-WebSocket reference: what Node with `ws` can do when each publication is framed once
// and written to each socket at once (one write per delivery, no cork/uncork).
// Run alone: `PORT=8080 node dist/peers/ws-reference.js`.
import { sendFrame, serveRooms } from './ws-rooms.js';

serveRooms('ws-reference', sendFrame);
