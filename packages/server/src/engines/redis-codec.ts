import type { PresenceUser } from '@herald/protocol';
import type { ChannelKey, ChannelMessage, ControlCommand, PublishInput, StoredPublication } from '../engine.js';

/**
 * The JSON of a publication without `offset` and `epoch`, which only the publish script knows.
 * The script splices them in front (`{"offset":N,"epoch":"E",` + the rest), so the payload is
 * never decoded and re-encoded in Lua (cjson would turn `[]` into `{}`).
 */
export function encodePublishBody(input: PublishInput): string {
  return JSON.stringify({
    id: input.id,
    channel: input.channel,
    event: input.event,
    data: input.data,
    ts: input.ts,
    ...(input.audience ? { audience: input.audience } : {}),
  });
}

/** A stored publication JSON (history entry, idempotency value, pub/sub payload) back to an object. */
export function decodePublication(json: string): StoredPublication {
  const raw = JSON.parse(json) as StoredPublication;
  return {
    id: raw.id,
    channel: raw.channel,
    event: raw.event,
    data: raw.data,
    offset: raw.offset,
    epoch: raw.epoch,
    ts: raw.ts,
    ...(raw.audience ? { audience: raw.audience } : {}),
  };
}

/**
 * Pub/sub payloads on a key's channel start with one letter: `p` publication (written by the
 * publish script), `j` join, `l` leave; the rest is JSON.
 */
export function encodeJoinLeave(kind: 'join' | 'leave', user: PresenceUser): string {
  return (kind === 'join' ? 'j' : 'l') + JSON.stringify(user);
}

/** Decodes a payload of a key's channel; throws on a payload it does not know. */
export function decodeChannelMessage(key: ChannelKey, payload: string): ChannelMessage {
  const body = payload.slice(1);
  switch (payload[0]) {
    case 'p':
      return { kind: 'pub', key, publication: decodePublication(body) };
    case 'j':
      return { kind: 'join', key, user: JSON.parse(body) as PresenceUser };
    case 'l':
      return { kind: 'leave', key, user: JSON.parse(body) as PresenceUser };
    default:
      throw new Error(`unknown channel message type ${JSON.stringify(payload[0])}`);
  }
}

/** Control commands travel as plain JSON on the control channel. */
export function encodeControl(command: ControlCommand): string {
  return JSON.stringify(command);
}

/** Decodes a control channel payload; throws on invalid JSON. */
export function decodeControl(payload: string): ControlCommand {
  return JSON.parse(payload) as ControlCommand;
}
