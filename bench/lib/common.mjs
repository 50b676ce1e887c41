/**
 * What every part of the fan-out benchmark shares: the topic it publishes on, where
 * the built broker and client live in dist/, and the rounding used for every figure.
 */

export const TOPIC = 'bench.fanout';
export const CLIENT_URL = new URL('../../dist/client/index.js', import.meta.url);
export const PROTOCOL_URL = new URL('../../dist/client/protocol/index.js', import.meta.url);
export const BROKER_CLI_URL = new URL('../../dist/broker/main/cli.js', import.meta.url);

export function round(x, digits) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
