import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stdout, one line per event. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'herald' }, timestamp: pino.stdTimeFunctions.isoTime });
}
