import type { Broker, ChannelKey, HistoryPage, HistoryQuery } from '../engine.js';
import type { Logger } from '../logger.js';

/**
 * Reads a page of history for the node: entries the engine could not read are left out of the
 * page (see HistoryPage.unreadable) and logged here, once per read, so an operator hears of them.
 */
export async function readHistory(broker: Broker, logger: Logger, key: ChannelKey, query: HistoryQuery): Promise<HistoryPage> {
  const page = await broker.history(key, query);
  if (page.unreadable) {
    logger.warn({ event: 'history_unreadable', key, offsets: page.unreadable.slice(0, 20), count: page.unreadable.length }, 'history entries could not be read and were skipped');
  }
  return page;
}
