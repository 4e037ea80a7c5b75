import type { PresenceUser } from '@herald/protocol';
import type { ChannelKey, ChannelMessage, ControlCommand, PublishInput, StoredPublication } from '../engine.js';
import { unstorable } from './storable-data.js';

/**
 * The JSON of a publication without `offset` and `epoch`, which only the publish script knows,
 * and without its opening brace: the script puts `{"offset":N,"epoch":"E",` in front, so the
 * payload is never decoded and re-encoded in Lua (cjson would turn `[]` into `{}`).
 */
export function encodePublishBody(input: PublishInput): string {
  const body: Record<string, unknown> = { id: input.id, channel: input.channel, event: input.event, data: input.data, ts: input.ts };
  if (input.audience) body.audience = input.audience;
  if (input.publisher) body.publisher = input.publisher;
  return JSON.stringify(body).slice(1);
}

/** A stored publication JSON (history entry, idempotency value, pub/sub payload) back to an object. */
export function decodePublication(json: string): StoredPublication {
  const raw = JSON.parse(json) as StoredPublication;
  return publicationOf(raw);
}

/**
 * A history entry (stored at `offset`) back to a publication, or undefined when it cannot be
 * one: not JSON, not a publication of that offset, or data nested deeper than anything may be
 * encoded (JSON.parse takes any depth; JSON.stringify overflows the stack on it). What Herald
 * wrote always decodes; this is for whatever else ended up in the stream.
 */
export function decodeHistoryEntry(json: string | null, offset: number): StoredPublication | undefined {
  if (typeof json !== 'string') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!isPublicationShape(raw) || raw.offset !== offset) return undefined;
  if (unstorable(raw.data) !== undefined) return undefined;
  return publicationOf(raw);
}

const isStringList = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((x) => typeof x === 'string'));

function isPublicationShape(raw: unknown): raw is StoredPublication {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return false;
  const p = raw as Record<string, unknown>;
  const audience = p.audience as Record<string, unknown> | null | undefined;
  const publisher = p.publisher as Record<string, unknown> | null | undefined;
  return (
    typeof p.id === 'string' &&
    typeof p.channel === 'string' &&
    typeof p.event === 'string' &&
    typeof p.epoch === 'string' &&
    typeof p.offset === 'number' &&
    typeof p.ts === 'number' &&
    (audience === undefined || (typeof audience === 'object' && audience !== null && isStringList(audience.roles) && isStringList(audience.users))) &&
    (publisher === undefined || (typeof publisher === 'object' && publisher !== null && typeof publisher.userId === 'string'))
  );
}

function publicationOf(raw: StoredPublication): StoredPublication {
  return {
    id: raw.id,
    channel: raw.channel,
    event: raw.event,
    data: raw.data,
    offset: raw.offset,
    epoch: raw.epoch,
    ts: raw.ts,
    ...(raw.audience ? { audience: raw.audience } : {}),
    ...(raw.publisher ? { publisher: raw.publisher } : {}),
  };
}

/**
 * Pub/sub payloads on a key's channel start with one letter: `p` publication, `j` join, `l`
 * leave; the rest is JSON. The publish script sends a channel's publications of one call as one
 * payload, `p<JSON>` each, joined by newlines (JSON.stringify never writes a raw newline).
 */
export function encodeJoinLeave(kind: 'join' | 'leave', user: PresenceUser): string {
  return (kind === 'join' ? 'j' : 'l') + JSON.stringify(user);
}

/** Decodes a payload of a key's channel into its messages, in order; throws on a payload it does not know. */
export function decodeChannelMessages(key: ChannelKey, payload: string): ChannelMessage[] {
  switch (payload[0]) {
    case 'p':
      return payload.split('\n').map((part) => {
        if (part[0] !== 'p') throw new Error(`unknown channel message type ${JSON.stringify(part[0])} after a publication`);
        return { kind: 'pub', key, publication: decodePublication(part.slice(1)) };
      });
    case 'j':
      return [{ kind: 'join', key, user: JSON.parse(payload.slice(1)) as PresenceUser }];
    case 'l':
      return [{ kind: 'leave', key, user: JSON.parse(payload.slice(1)) as PresenceUser }];
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
