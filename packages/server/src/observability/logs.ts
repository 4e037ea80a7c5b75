import type { LifecycleBus } from '../core/events.js';
import type { Logger } from '../logger.js';

/** One log line per connect, disconnect and denial (with its reason), from the bus. */
export function logLifecycle(bus: LifecycleBus, logger: Logger): void {
  bus.on('connect', (e) =>
    logger.info({ event: 'connect', connection: e.connectionId, tenant: e.tenant, user: e.userId, transport: e.transport, route: e.route }, 'client connected'),
  );
  bus.on('disconnect', (e) =>
    logger.info({ event: 'disconnect', connection: e.connectionId, tenant: e.tenant, user: e.userId, code: e.code, transport: e.transport }, 'client disconnected'),
  );
  bus.on('denial', (e) => {
    const { reason, connectionId, userId, ...rest } = e;
    logger.info(
      { event: 'denied', reason, ...(connectionId ? { connection: connectionId } : {}), ...(userId ? { user: userId } : {}), ...rest },
      connectionId ? 'request denied' : 'connection denied',
    );
  });
}
