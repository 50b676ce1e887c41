// The broker's log on a real process: JSON lines with level and event, fastify's request lines
// only at debug, and no secret in any line — the API key a request carries included.
import { afterEach, expect, it } from 'vitest';
import { killAllBrokers, startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';

afterEach(() => killAllBrokers());

const apiKey = 'an-api-key-that-must-never-be-logged-0123456789';

async function run(level: string): Promise<Array<Record<string, unknown>>> {
  const broker: BrokerProcess = await startBrokerProcess(['--log-level', level, '--api-key', apiKey]);
  const answer = await fetch(`${broker.httpUrl}/api/v1/topics/logged.topic`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect(answer.status).toBeLessThan(500);
  await broker.stop();
  const lines: Array<Record<string, unknown>> = [];
  broker.latest((e) => (lines.push(e), false)); // walks from the last line back
  return lines.reverse();
}

it('at info: event lines only, each with level, ts and event; no request lines; no secret', async () => {
  const lines = await run('info');
  expect(lines.map((l) => l['event'])).toEqual(['listening', 'draining']);
  for (const line of lines) expect(line).toMatchObject({ level: 'info', pid: expect.any(Number) as number, ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string });
  expect(JSON.stringify(lines)).not.toContain(apiKey);
});

it('at debug: fastify request lines too, still without the key', async () => {
  const lines = await run('debug');
  expect(lines.some((l) => l['msg'] === 'incoming request' && (l['req'] as { url?: string } | undefined)?.url === '/api/v1/topics/logged.topic')).toBe(true);
  expect(lines.some((l) => l['event'] === 'listening')).toBe(true);
  expect(JSON.stringify(lines)).not.toContain(apiKey);
});
