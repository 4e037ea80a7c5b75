import { randomBytes } from 'node:crypto';
import type { PublishInput, PublishItem, PublishItemResult, StoredPublication } from '../engine.js';
import { decodePublication, encodePublishBody } from './redis-codec.js';
import { scriptItemError } from './redis-errors.js';
import type { RedisKeys } from './redis-keys.js';
import { assertStorable } from './storable-data.js';

/**
 * Candidate epochs for `n` streams the script may have to create (unused for streams that exist),
 * concatenated: 6 bytes are exactly EPOCH_CANDIDATE_LENGTH base64url characters.
 */
export function epochCandidates(n: number): string {
  return randomBytes(6 * n).toString('base64url');
}

/** Redis wants integer milliseconds. */
function ms(n: number): number {
  return Math.max(0, Math.floor(n));
}

/** An item checked and encoded for the publish script. */
export interface EncodedItem {
  item: PublishItem;
  body: string;
}

/** Checks and encodes one item; throws, before Redis is asked anything, for data that cannot be stored. */
export function encodeItem(item: PublishItem): EncodedItem {
  assertStorable(item.input.data);
  return { item, body: encodePublishBody(item.input) };
}

/**
 * The keys and arguments of `publish_items` (see publishItemsLua) for these items: 3 keys each,
 * the distinct option sets once, then 3 arguments each.
 */
export function publishArguments(names: RedisKeys, encoded: readonly EncodedItem[]): { keys: string[]; args: (string | number)[] } {
  const keys: string[] = [];
  const optionSets = new Map<string, number>();
  const sets: number[] = [];
  const perItem: (string | number)[] = [];
  for (const { item, body } of encoded) {
    const { key, options } = item;
    const { history, idempotency } = options;
    keys.push(names.meta(key), names.history(key), names.idempotency(key, idempotency?.key ?? ''));
    const set = [ms(history.size), ms(history.ttlMs), ms(history.metaTtlMs), idempotency ? ms(idempotency.ttlMs) : 0];
    const id = set.join(',');
    let index = optionSets.get(id);
    if (index === undefined) {
      index = optionSets.size + 1;
      optionSets.set(id, index);
      sets.push(...set);
    }
    perItem.push(index, names.channel(key), body);
  }
  const args: (string | number)[] = [optionSets.size];
  for (const n of sets) args.push(n);
  for (const a of perItem) args.push(a);
  return { keys, args };
}

/** The publication an item became, from what the script told: its offset and epoch. */
function storedPublication(input: PublishInput, offset: number, epoch: string): StoredPublication {
  const publication: StoredPublication = { id: input.id, channel: input.channel, event: input.event, data: input.data, offset, epoch, ts: input.ts };
  if (input.audience) publication.audience = input.audience;
  if (input.publisher) publication.publisher = input.publisher;
  return publication;
}

/** The script's three entries per item (see publishItemsLua) as one result per item, in item order. */
export function publishReplies(reply: readonly (number | string)[], encoded: readonly EncodedItem[]): PublishItemResult[] {
  const results: PublishItemResult[] = new Array(encoded.length);
  for (let i = 0; i < encoded.length; i++) {
    const status = Number(reply[3 * i]);
    const a = reply[3 * i + 1];
    if (status === 0) results[i] = { publication: storedPublication(encoded[i].item.input, Number(a), String(reply[3 * i + 2])), duplicate: false };
    else if (status === 1) results[i] = { publication: decodePublication(String(a)), duplicate: true };
    else results[i] = { error: scriptItemError(String(a)) };
  }
  return results;
}
