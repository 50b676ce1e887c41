/**
 * The peers of the side-by-side comparison: each is a server (servers.mjs) and the
 * adapter the load generator drives it with (adapters/*.mjs, all with one interface:
 *
 *   connect(url, hooks?) -> Promise<{
 *     subscribe(topic, onMessage(payloadView, seq?)) -> Promise,   // in place when it resolves
 *     publish(topic, bytes),        // copies bytes before returning; a burst leaves as one frame
 *     flush?(),                     // optional: send what this burst wrote now, not at the end of the turn
 *     bufferedAmount(),             // bytes the socket has not written yet
 *     close() -> Promise,
 *   }>
 *
 * hooks: { onError(err), onClose(code) } for what goes wrong after connecting. `seq` is
 * the topic seq where the protocol carries one (Chorus), else undefined.
 */
import { serverAvailable } from './servers.mjs';

export const PEERS = [
  { name: 'chorus-client', server: 'chorus', adapter: 'chorus-client', seq: true, chorus: true },
  { name: 'chorus-lean', server: 'chorus', adapter: 'chorus-lean', seq: true, chorus: true },
  { name: 'rawws', server: 'rawws', adapter: 'rawws', seq: false, chorus: false },
  { name: 'rawws-batched', server: 'rawws-batched', adapter: 'rawws', seq: false, chorus: false },
  { name: 'nats-lean', server: 'nats', adapter: 'nats-lean', seq: false, chorus: false },
  { name: 'mosquitto-lean', server: 'mosquitto', adapter: 'mosquitto-lean', seq: false, chorus: false },
];

export const PEER_NAMES = PEERS.map((p) => p.name);

/** The peers asked for, in the table's order, split into those that can run here and those skipped (with why). */
export function choosePeers(only) {
  const wanted = only === null ? PEERS : PEERS.filter((p) => only.includes(p.name));
  const run = [];
  const skipped = [];
  for (const peer of wanted) {
    const why = serverAvailable(peer.server);
    if (why === null) run.push(peer);
    else skipped.push({ peer: peer.name, reason: why });
  }
  return { run, skipped };
}

export function adapterUrl(peer) {
  return new URL(`./adapters/${peer.adapter}.mjs`, import.meta.url).href;
}
