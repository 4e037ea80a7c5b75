import { io, type Socket } from 'socket.io-client';
import { Refusal, type Ending, type NotRecovered, type OpenReceiver, type Received, type Receiver } from './receiver.js';

/** Events Herald sends that are not publications. */
const CONTROL_EVENTS = new Set(['connected', 'error', 'herald:not_recovered', 'presence:join', 'presence:leave']);
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** What socket.io-client keeps to recover a session: its private session id and last offset. */
interface SessionState {
  pid?: string;
  offset?: string;
}

function next<T>(socket: Socket, events: string[]): Promise<{ event: string; value: T }> {
  return new Promise((resolve) => {
    const handlers = events.map((event) => {
      const handler = (value: T) => {
        events.forEach((e, i) => socket.off(e, handlers[i]));
        resolve({ event, value });
      };
      socket.on(event, handler);
      return handler;
    });
  });
}

/**
 * A stock socket.io-client receiver that joins each channel with `join-room`. A publication's id
 * is the second argument of its event, and the last is the cursor socket.io-client keeps as its
 * offset for connection state recovery. `cut()` closes the engine under the socket; `resume()` lets the same socket
 * reconnect, so socket.io-client sends its session id and offset as it does after a network cut.
 */
export const openSocketIoReceiver: OpenReceiver = async (herald, token, channels, resumeFrom) => {
  const received: Received[] = [];
  const notRecovered: NotRecovered[] = [];
  const socket = io(herald.url, { auth: { token }, transports: ['websocket'], reconnectionDelay: 100, autoConnect: false });
  const state = socket as unknown as { _pid?: string; _lastOffset?: string };
  // Another socket's recovery state, as if this one had kept it (a page reload that saved it).
  const restore = resumeFrom?.value as SessionState | undefined;
  if (restore) [state._pid, state._lastOffset] = [restore.pid, restore.offset];
  // With recovery on, a publication event is `data, id, cursor`: the cursor is the offset socket.io-client keeps.
  socket.onAny((event: string, ...args: unknown[]) => {
    const id = args[1];
    if (CONTROL_EVENTS.has(event) || args.length !== 3 || typeof id !== 'string' || !ULID.test(id)) return;
    received.push({ id, channel: undefined, event, data: args[0] });
  });
  socket.on('herald:not_recovered', (body: NotRecovered) => notRecovered.push(body));
  let ended: Promise<Ending> = new Promise(() => {});

  const connected = async (restoring: boolean) => {
    const first = await next<any>(socket, ['connected', 'connect_error']);
    if (first.event === 'connect_error') {
      socket.close();
      throw new Refusal(first.value.data?.code ?? first.value.message, first.value.message);
    }
    ended = next<string>(socket, ['disconnect']).then(({ value }) => ({ code: value }));
    // A restored session is back in its rooms; otherwise the app joins them, as after any fresh connect.
    if (socket.recovered) return;
    if (restoring) notRecovered.push({ reason: 'session_not_restored' });
    for (const room of channels) {
      const answer = await socket.emitWithAck('join-room', { room });
      if (answer?.error) {
        socket.close();
        throw new Refusal(answer.error.code, answer.error.message);
      }
    }
  };

  const first = connected(restore !== undefined);
  socket.connect();
  await first;
  const receiver: Receiver = {
    transport: 'socketio',
    received,
    notRecovered,
    ended: () => ended,
    position: () => ({ transport: 'socketio', value: { pid: state._pid, offset: state._lastOffset } satisfies SessionState }),
    async cut() {
      // Held off until resume(), so the time away is the test's to choose.
      socket.io.reconnection(false);
      const gone = ended;
      socket.io.engine.close();
      await gone;
    },
    async resume() {
      socket.io.reconnection(true);
      const back = connected(true);
      socket.connect();
      await back;
    },
    async close() {
      socket.close();
    },
  };
  return receiver;
};
