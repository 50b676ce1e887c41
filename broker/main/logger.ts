/**
 * The broker's log: one JSON line per event that matters, through pino (the logger fastify is
 * built on, so HTTP request logs, when switched on, are the same lines). Every line carries
 * `level` (by name), `ts` (ISO time), `pid`, `hostname`, `event` and the event's fields; scripts
 * and tests read `event`. Each event has one level (`eventLevels`): the per-group lines a mesh
 * writes by the hundred at debug, what an operator should look at as warn or error.
 *
 * No secrets: the fields of events never carry tokens, keys or cluster secrets, and the paths
 * where one could appear (request headers, `token`, `secret`, `key`) are redacted besides.
 */
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Events below info or above it; every other event is info. */
const eventLevels: Record<string, Exclude<LogLevel, 'silent'>> = {
  'lwg-loaded': 'debug',
  'lwg-idle': 'debug',
  'lwg-released': 'debug',
  'cluster-link-refused': 'warn',
  'cluster-tls-without-ca': 'warn',
  'cluster-stopped': 'warn',
  'cluster-seeds-unresolved': 'warn',
  'rooms-lobby-refused': 'warn',
  'rooms-reset-refused': 'warn',
  'sys-snapshot-refused': 'warn',
  'lwg-waiting': 'warn',
  'cluster-resync': 'warn',
  'sys-snapshot-failed': 'error',
  'lwg-note-failed': 'error',
  'lwg-unknown-control': 'error',
  'lwg-state-lost': 'error',
};

export function levelOf(event: string): Exclude<LogLevel, 'silent'> {
  return eventLevels[event] ?? 'info';
}

export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname() },
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      messageKey: 'msg',
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.token', '*.secret', '*.key', 'token', 'secret'], censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** The broker's `log(event, fields)` hook over a pino logger. */
export function eventLog(logger: Logger): (event: string, fields: Record<string, unknown>) => void {
  return (event, fields) => {
    const level = levelOf(event);
    if (logger.isLevelEnabled(level)) logger[level]({ event, ...fields });
  };
}
