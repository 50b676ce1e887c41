/**
 * `--mesh`: a mesh of brokers on loopback for the cross-broker run. Picks free ports
 * (binds port 0 and closes), starts each broker with the same seed list and a
 * throw-away cluster secret, waits until each one listens and has logged a
 * `cluster-view` holding every broker, and finds which broker sequences the bench
 * topic's stream. The brokers live in the caller's BrokerSet, which stops them (and
 * kills them by PID on any failure).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { TOPIC } from './common.mjs';
import { brokerLimitArgs, brokerNodeFlags } from './brokers.mjs';

export const MESH_SIZE = 3;
const MESH_FORM_TIMEOUT_MS = 30_000;

/** n distinct free TCP ports on 127.0.0.1: all bound to port 0 at once, then released. */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve()))));
  }
}

/**
 * Starts `opts.meshBrokers` (default MESH_SIZE) brokers b0… and returns them once the mesh is formed: each with
 * port, url, clusterPort, and the view it last logged. b0 is broker A (the publisher's),
 * b1 broker B (the subscribers'), b2 only relays.
 */
export async function startMesh(set, opts) {
  const size = opts.meshBrokers ?? MESH_SIZE;
  const ports = await freePorts(2 * size);
  const clientPorts = ports.slice(0, size);
  const clusterPorts = ports.slice(size);
  const seeds = clusterPorts.map((p) => `127.0.0.1:${p}`).join(',');
  const secret = `bench-${randomBytes(12).toString('hex')}`;
  const roles = ['publisher', 'subscribers', 'relay'];
  const brokers = clientPorts.map((port, i) => {
    const args = [
      '--host', '127.0.0.1', '--port', String(port), '--name', `b${i}`, '--log-level', 'info',
      '--cluster-port', String(clusterPorts[i]), '--seeds', seeds, '--cluster-secret', secret,
      ...brokerLimitArgs(opts),
    ];
    const broker = set.spawn(`b${i}`, args, brokerNodeFlags(opts));
    broker.role = roles[i] ?? 'relay';
    broker.clusterPort = clusterPorts[i];
    return broker;
  });
  await Promise.all(brokers.map((b) => set.waitListening(b)));

  // Formed: every broker's latest cluster-view holds size members.
  const t0 = Date.now();
  const fullView = (b) => {
    const views = b.events.filter((e) => e.event === 'cluster-view');
    const last = views[views.length - 1];
    return last !== undefined && Array.isArray(last.members) && last.members.length === size ? last : null;
  };
  while (!brokers.every(fullView)) {
    const waiting = brokers.filter((b) => !fullView(b)).map((b) => b.name);
    if (Date.now() - t0 > MESH_FORM_TIMEOUT_MS) throw new Error(`the mesh did not form within ${MESH_FORM_TIMEOUT_MS / 1000} s (no ${size}-member cluster-view from ${waiting.join(', ')})`);
    for (const b of brokers) if (!set.alive(b)) throw new Error(`broker ${b.name} (pid ${b.pid}) exited while the mesh formed`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const b of brokers) {
    const view = fullView(b);
    b.view = { id: view.view, members: view.members };
  }
  const cluster = await clusterInfo(brokers[0]);
  return { brokers, formMs: Date.now() - t0, ...cluster };
}

/**
 * From broker A's GET /api/v1/cluster: the coordinator, and the sequencer and owners of the bench
 * topic's group (the sequencer where the view placed it at formation; after a run, where it is now:
 * the publisher's broker takes it over, docs/mesh.md).
 */
export async function clusterInfo(broker) {
  try {
    const res = await fetch(`http://127.0.0.1:${broker.port}/api/v1/cluster`, { signal: AbortSignal.timeout(3000) });
    const info = await res.json();
    let sequencer = null;
    let lwg = null;
    let owners = [];
    if (Array.isArray(info.lwgs) && info.lwgs.length > 0) {
      const { lwgOf } = await import(new URL('../../dist/lightweight-groups/index.js', import.meta.url).href);
      lwg = lwgOf(TOPIC, info.lwgs.length);
      const group = info.lwgs.find((g) => g.lwg === lwg);
      sequencer = group?.sequencer ?? null;
      owners = group?.owners ?? [];
    }
    return { coordinator: info.coordinator ?? null, topicStream: lwg, topicSequencer: sequencer, topicOwners: owners };
  } catch {
    return { coordinator: null, topicStream: null, topicSequencer: null, topicOwners: [] };
  }
}
