/**
 * broker/main — wires the parts, reads configuration, owns timers and
 * signals. `startBroker(options)` is the programmatic entry (`chorus/broker`);
 * cli.ts is the command line.
 */
export { startBroker, type BrokerHandle, type BrokerOptions, type BrokerHooks } from './broker.js';
export { parseConfig, validateConfig, configDefaults, optionSpecs, helpText, ConfigError, type BrokerConfig } from './config.js';
