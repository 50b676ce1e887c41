/**
 * What a client does once a link has closed, as a pure rule (client.ts acts on it), and the
 * reconnect delays: exponential, capped, with "equal jitter" so a crowd of clients spreads out.
 */
import { CloseCode, shouldReconnect } from './protocol/index.js';

export interface ReconnectOptions {
  /** Reconnect at all. Default true. */
  enabled?: boolean;
  /** First delay, ms. Default 100. */
  delayMinMs?: number;
  /** Largest delay, ms. Default 5000. */
  delayMaxMs?: number;
}

export function backoffDelayMs(attempt: number, options: ReconnectOptions, random: () => number = Math.random): number {
  const min = options.delayMinMs ?? 100;
  const max = options.delayMaxMs ?? 5000;
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + random() * (ceiling / 2);
}

export interface ClosedLink {
  code: number;
  /** The link had been welcomed. */
  welcomed: boolean;
  /** Subscribes went behind its hello (pipeline.ts). */
  pipelined: boolean;
  /** The protocol version its hello said. */
  helloVersion: number;
  /** connect() is still waiting, and this was the last URL of the first round. */
  firstRoundOver: boolean;
  reconnect: ReconnectOptions;
  /** Failed attempts since the last welcome. */
  attempt: number;
}

export type AfterClose =
  /** The broker holds less before its welcome than was pipelined: again at once, without pipelining. */
  | { kind: 'again-unpipelined' }
  /** A broker from before protocol 2: hello again at once, in 1 (the client speaks both). */
  | { kind: 'again-v1' }
  /** connect() fails: one round over every URL found no broker. */
  | { kind: 'fail-connect' }
  /** A close that reconnecting will not cure (or reconnects are off): the client is closed. */
  | { kind: 'fail' }
  | { kind: 'reconnect'; delayMs: number };

export function afterClose(closed: ClosedLink, random: () => number = Math.random): AfterClose {
  const { code, welcomed } = closed;
  // A broker that holds less before its welcome refuses the hello's frame at its header (1009), or
  // for its message count (4501), or closes once too much has come (4008).
  if (!welcomed && closed.pipelined && (code === CloseCode.RateLimited || code === CloseCode.FrameTooBig || code === CloseCode.BadFrame)) return { kind: 'again-unpipelined' };
  if (!welcomed && code === CloseCode.UnsupportedVersion && closed.helloVersion > 1) return { kind: 'again-v1' };
  if (closed.firstRoundOver) return { kind: 'fail-connect' };
  if (closed.reconnect.enabled === false || !shouldReconnect(code)) return { kind: 'fail' };
  // A draining broker sends its clients elsewhere: the first attempt goes at once.
  const delayMs = code === CloseCode.Draining && closed.attempt === 0 ? 0 : backoffDelayMs(closed.attempt, closed.reconnect, random);
  return { kind: 'reconnect', delayMs };
}
