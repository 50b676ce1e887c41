// The broker's log lines: JSON with level, ts, pid, hostname and event; each event at its level,
// the level threshold honoured, secrets redacted.
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { createLogger, eventLog, levelOf } from '../../broker/main/logger.js';

function capture(level: Parameters<typeof createLogger>[0]): { lines: Array<Record<string, unknown>>; log: ReturnType<typeof eventLog> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: eventLog(createLogger(level, sink)) };
}

it('writes one JSON line per event, with its level, time and fields', () => {
  const { lines, log } = capture('info');
  log('cluster-view', { view: 3, members: ['a#1', 'b#1'] });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: 'info', event: 'cluster-view', view: 3, members: ['a#1', 'b#1'], pid: process.pid });
  expect(Date.parse(lines[0]!['ts'] as string)).toBeGreaterThan(0);
});

it('puts per-group lines at debug and trouble at warn or error, and honours the threshold', () => {
  expect(levelOf('lwg-loaded')).toBe('debug');
  expect(levelOf('cluster-link-refused')).toBe('warn');
  expect(levelOf('lwg-state-lost')).toBe('error');
  expect(levelOf('listening')).toBe('info');
  const info = capture('info');
  info.log('lwg-loaded', { lwg: 3 });
  info.log('listening', { port: 1 });
  expect(info.lines.map((l) => l['event'])).toEqual(['listening']);
  const warn = capture('warn');
  for (const event of ['listening', 'cluster-link-refused', 'lwg-state-lost']) warn.log(event, {});
  expect(warn.lines.map((l) => `${l['event']}:${l['level']}`)).toEqual(['cluster-link-refused:warn', 'lwg-state-lost:error']);
  const debug = capture('debug');
  debug.log('lwg-loaded', { lwg: 3 });
  expect(debug.lines).toMatchObject([{ level: 'debug', event: 'lwg-loaded', lwg: 3 }]);
  const silent = capture('silent');
  silent.log('lwg-state-lost', {});
  expect(silent.lines).toEqual([]);
});

it('redacts secrets wherever a field would carry one', () => {
  const { lines, log } = capture('info');
  log('listening', { token: 'eyJ.secret.jwt', secret: 's3cret', tls: { key: 'PRIVATE KEY', cert: 'ok' } });
  expect(JSON.stringify(lines)).not.toMatch(/eyJ|s3cret|PRIVATE/);
  expect(lines[0]).toMatchObject({ token: '[redacted]', secret: '[redacted]', tls: { key: '[redacted]', cert: 'ok' } });
});
