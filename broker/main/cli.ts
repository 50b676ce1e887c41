#!/usr/bin/env node
/**
 * `chorus` / `npm start`: start one broker from flags and CHORUS_* variables.
 * Prints one JSON line per event on stdout through pino (logger.ts; `listening` carries the port,
 * for scripts and tests); exits 2 on bad configuration with a plain message.
 * SIGTERM/SIGINT drain: clients are told to reconnect elsewhere, then exit.
 */
import { ConfigError, helpText, parseConfig, startBroker } from './index.js';
import { createLogger, eventLog } from './logger.js';
import { buildInfo } from '../server/build-info.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText() + '\n');
    return;
  }
  if (argv.includes('--version') || argv.includes('-v')) {
    const { version, commit } = await buildInfo();
    process.stdout.write(`chorus ${version} (commit ${commit}, Node ${process.version})\n`);
    return;
  }
  let config;
  try {
    config = parseConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`chorus: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const log = eventLog(logger);
  const broker = await startBroker(config, { log, logger });
  log('listening', {
    broker: broker.brokerId,
    url: broker.url,
    http: broker.httpUrl,
    port: broker.port,
    host: broker.host,
    mode: config.seeds.length > 0 || config.seedsDns !== '' ? 'mesh' : 'single',
    ...(broker.clusterPort === undefined ? {} : { clusterPort: broker.clusterPort }),
    ...(broker.internalPort === undefined ? {} : { internalPort: broker.internalPort }),
    auth: config.auth === 'none' ? 'none (anonymous local mode: anyone may publish and subscribe; use --auth jwt to expose it)' : 'jwt',
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log('draining', { signal });
    broker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`chorus: error while closing: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`chorus: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
