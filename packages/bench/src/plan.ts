// What the orchestrator tells load workers and the publisher about a running target. Plain data:
// it crosses process boundaries.

/** How a bench client speaks to the server. */
export type Dialect =
  /** Raw WebSocket; the room is in the URL, publications arrive as bare frames. */
  | 'ws-plain'
  /** Herald's native protocol: `connected`, `subscribe`/`reply`, `pub`, app-level ping/pong. */
  | 'herald-ws'
  /** Engine.IO v4 / Socket.IO v5 over WebSocket, without the polling upgrade. */
  | 'socketio'
  /** Server-Sent Events over HTTP/1.1. */
  | 'sse';

export interface ClientPlan {
  dialect: Dialect;
  host: string;
  /** One port per server node; client i connects to `ports[i % ports.length]`. */
  ports: number[];
  /** Request path; `{room}` and `{token}` are filled in per client. */
  path: string;
  /** When set, each client gets its own HS256 token (`sub` = `bench-<i>`) signed with it. */
  jwtSecret?: string;
  socketio?: {
    /** Send `{token}` in the Socket.IO CONNECT packet. */
    auth: boolean;
    /** Emit this event with `{room}` after connecting, and wait for its acknowledgement. */
    joinEvent?: string;
  };
}

export interface PublishPlan {
  host: string;
  port: number;
  /** Takes `{channel, event, data}`. */
  path: string;
  /** Takes `{publications: [{channel, event, data}, ...]}`. */
  batchPath: string;
  headers: Record<string, string>;
}

export function roomName(room: number): string {
  return `room-${room}`;
}
