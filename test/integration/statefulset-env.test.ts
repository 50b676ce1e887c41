// Three real broker processes started exactly as the StatefulSet of k8s/overlays/dev starts its
// pods when scaled to three (`kubectl scale statefulset chorus --replicas=3`; the overlay runs one):
// the container's env list from `kubectl kustomize`, with the downward-API fields (POD_NAME
// chorus-i, POD_NAMESPACE chorus-it) and the overlay's generated Secret filled in as the kubelet
// fills them, and no flags (the image's ENTRYPOINT runs cli.js alone). Checked: the three find
// each other through the headless Service's SRV records and form one view of three, founded by
// chorus-0; each is ready on the probe's port; SIGTERM to chorus-0 in the middle of a stream (a
// rolling update, a node drain) moves its publisher to another broker with close 4000, chorus-0
// stops being ready and exits 0 within terminationGracePeriodSeconds, and every acknowledged
// publish reaches a subscriber on chorus-1 once, in order, with no gap.
//
// What differs from a real pod, and why:
// - Three pods share one machine and one network namespace, so CHORUS_HOST and
//   CHORUS_INTERNAL_HOST, 0.0.0.0 in the manifest (every address of the pod's own namespace), are
//   127.0.0.(i+1) for chorus-i: the loopback address standing in for its pod IP. Ports are the
//   manifest's (8080, 7946, 9090): each pod binds them on its own address, as on its own IP.
// - Cluster DNS is test/helpers/dns-hook.mjs, preloaded with NODE_OPTIONS=--import and given
//   the records CoreDNS would serve for the headless Service in CHORUS_TEST_DNS: the SRV record
//   _cluster._tcp.chorus-mesh.<ns>.svc.cluster.local lists chorus-i.chorus-mesh.<ns>.svc.cluster.local
//   on the cluster port, and each of those names resolves to 127.0.0.(i+1). Neither variable is
//   a broker option.
// - The environment is PATH plus the pod's env list: none of the variables a container runtime
//   and Kubernetes add (HOSTNAME, KUBERNETES_SERVICE_*, the image's NODE_VERSION…) — the broker
//   reads none of them (CHORUS_NAME is set, so it does not fall back to the host name).
// - The dev overlay: no TLS and no authentication (prod needs four Secrets made outside it).
// - No container runtime: not uid 1000, no read-only root, no memory limit; and no kubelet probe
//   loop — the test asks /readyz itself at each point that matters instead of every 2 s.
// - The manifest's ports are fixed, so 8080, 7946 and 9090 must be free on 127.0.0.1–3 (a
//   process bound to 0.0.0.0 on one of them makes the start fail with EADDRINUSE).
import { once } from 'node:events';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, connect, type Client } from '../../client/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { canRender, one, podEnvironment, render, type K8sObject } from '../helpers/kustomize.js';
import { since } from '../helpers/mesh.js';
import { Condition, within } from '../helpers/wait.js';

const namespace = 'chorus-it';
const replicas = 3;
const hook = resolve(import.meta.dirname, '../helpers/dns-hook.mjs');
const podIp = (i: number) => `127.0.0.${i + 1}`;

let brokers: BrokerProcess[] = [];
let clients: Client[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.all(brokers.map((b) => b.stop('SIGKILL')));
  brokers = [];
  clients = [];
});

/** What the manifest says a pod is: its env (for chorus-i), ports by name, probe, grace period, and the DNS of its Service. */
function pods(objects: K8sObject[]) {
  const statefulSet = one(objects, 'StatefulSet', 'chorus');
  const pod = statefulSet.spec.template.spec;
  const container = pod.containers[0];
  const ports = Object.fromEntries((container.ports as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort])) as Record<string, number>;
  const meshService = one(objects, 'Service', statefulSet.spec.serviceName);
  const domain = `${meshService.metadata.name}.${namespace}.svc.cluster.local`;
  // CoreDNS: one SRV record per pod of a headless Service, per named port, with the pod's port.
  const srvPort = (meshService.spec.ports as Array<{ name: string; targetPort: string }>).find((p) => p.name === 'cluster')!;
  const names = Array.from({ length: replicas }, (_, i) => `chorus-${i}.${domain}`);
  const dnsTable = {
    srv: { [`_${srvPort.name}._tcp.${domain}`]: names.map((name) => ({ name, port: ports[srvPort.targetPort]! })) },
    hosts: Object.fromEntries(names.map((name, i) => [name, podIp(i)])),
  };
  const envOf = (i: number): Record<string, string> => {
    const env = podEnvironment(objects, { 'metadata.name': `chorus-${i}`, 'metadata.namespace': namespace });
    // The one difference in the broker's configuration: the pod's addresses (see the header).
    expect([env['CHORUS_HOST'], env['CHORUS_INTERNAL_HOST']]).toEqual(['0.0.0.0', '0.0.0.0']);
    return { ...env, CHORUS_HOST: podIp(i), CHORUS_INTERNAL_HOST: podIp(i), NODE_OPTIONS: `--import ${hook}`, CHORUS_TEST_DNS: JSON.stringify(dnsTable) };
  };
  const probe = container.readinessProbe.httpGet as { path: string; port: string };
  return {
    envOf,
    ports,
    readyz: (i: number) => `http://${podIp(i)}:${ports[probe.port]}${probe.path}`,
    graceMs: (pod.terminationGracePeriodSeconds as number) * 1000,
    seeds: names.map((n) => `${n}:${ports['cluster']}`),
  };
}

/** The HTTP status of a probe, or 'refused' when nothing listens (the process is gone). */
async function probe(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5000) })).status;
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') return 'refused';
    throw err;
  }
}

describe.skipIf(!canRender)('the StatefulSet environment (k8s/overlays/dev, three pods)', () => {
  it('forms one view founded by chorus-0, is ready, and drains chorus-0 on SIGTERM with no acknowledged publish lost', { timeout: 120_000 }, async () => {
    const objects = render('dev');
    const pod = pods(objects);
    expect(pod.seeds[0]).toBe(pod.envOf(0)['CHORUS_CLUSTER_ADVERTISE']);
    brokers = await Promise.all(Array.from({ length: replicas }, (_, i) => startBrokerProcess([], { bare: true, env: pod.envOf(i), timeoutMs: 30_000 })));
    const urls = brokers.map((_, i) => `ws://${podIp(i)}:${pod.ports['client']}/ws`);
    brokers.forEach((b, i) => expect(b.url).toBe(urls[i]));

    // One view of three, found through the SRV records; chorus-0 founded it, the others joined.
    const views = await Promise.all(brokers.map((b, i) => b.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).length === replicas, 30_000, `chorus-${i} in a view of three`)));
    for (const view of views) expect((view['members'] as string[]).map((m) => m.split('#')[0]).sort()).toEqual(['chorus-0', 'chorus-1', 'chorus-2']);
    for (const [i, b] of brokers.entries()) {
      const start = b.latest((e) => e['event'] === 'cluster-start')!;
      expect(start).toMatchObject({ address: pod.seeds[i], seeds: pod.seeds, founder: i === 0 });
      expect(b.latest((e) => e['event'] === 'cluster-found') !== undefined, `chorus-${i} founded`).toBe(i === 0);
      expect(await probe(pod.readyz(i)), `chorus-${i} ${pod.readyz(i)}`).toBe(200);
    }

    // A subscriber on chorus-1, a publisher on chorus-0; both know every broker.
    const arrived = new Condition();
    const got: Array<{ seq: number; n: number }> = [];
    const subscriber = await connect([urls[1]!, urls[2]!, urls[0]!], { reconnect: { delayMinMs: 20, delayMaxMs: 300 } });
    clients.push(subscriber);
    await subscriber.subscribe('k8s.stream', (m) => (got.push({ seq: m.seq, n: (m.data as { n: number }).n }), arrived.notify()));
    const publisher = await connect(urls, { reconnect: { delayMinMs: 20, delayMaxMs: 300 } });
    clients.push(publisher);
    const closes: number[] = [];
    const movedTo: string[] = [];
    publisher.on('disconnected', ({ code }) => (closes.push(code), arrived.notify()));
    publisher.on('reconnected', ({ broker }) => (movedTo.push(broker), arrived.notify()));

    // 300 acknowledged publishes, at most 20 in flight; a refused one is recorded (none may be).
    const total = 300;
    const acked: Array<{ seq: number; n: number }> = [];
    const refused: string[] = [];
    const stream = (async () => {
      const acks: Array<Promise<void>> = [];
      for (let n = 0; n < total; n++) {
        acks.push(publisher.publish('k8s.stream', { n }).then(({ seq }) => void acked.push({ seq, n }), (err: unknown) => void refused.push(`${n}: ${String(err)}`)));
        if (n >= 20) await acks[n - 20];
      }
      await Promise.all(acks);
    })();

    // SIGTERM to chorus-0 mid-stream, as the kubelet sends it.
    await arrived.wait(() => got.length >= 100, 30_000, 'the stream to be under way');
    const chorus0 = brokers[0]!;
    const member0 = chorus0.latest((e) => e['event'] === 'cluster-start')!['member'] as string;
    const afterTerm = since();
    const exited = once(chorus0.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const termAt = Date.now();
    chorus0.child.kill('SIGTERM');
    await chorus0.waitForEvent((e) => afterTerm(e) && e['event'] === 'draining', 10_000, 'chorus-0 to drain');
    const draining = await probe(pod.readyz(0));
    expect([503, 'refused'], 'readiness of chorus-0 while draining').toContain(draining);
    const [code, signal] = await within(exited, pod.graceMs, `chorus-0 to exit within terminationGracePeriodSeconds (${pod.graceMs} ms)`);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    console.info(`SIGTERM after ${acked.length} of ${total} acks: readiness ${draining}, exit 0 after ${Date.now() - termAt} ms (grace ${pod.graceMs} ms)`);

    // Its publisher was told to move (4000) and resumed on another broker; the others go on as two.
    await arrived.wait(() => movedTo.length > 0, 30_000, 'the publisher to resume elsewhere');
    expect(closes[0]).toBe(CloseCode.Draining);
    expect(movedTo.map((id) => id.split('#')[0])).not.toContain('chorus-0');
    await brokers[1]!.waitForEvent((e) => afterTerm(e) && e['event'] === 'cluster-view' && !(e['members'] as string[]).includes(member0), 30_000, 'a view without chorus-0');
    expect(await probe(pod.readyz(1))).toBe(200);
    expect(await probe(pod.readyz(0))).toBe('refused');

    // Every publish acknowledged, each reaches the subscriber once, in publishing order, no gap.
    await within(stream, 60_000, 'every publish to be acknowledged');
    expect(refused).toEqual([]);
    expect(acked).toHaveLength(total);
    const bySeq = [...acked].sort((a, b) => a.seq - b.seq);
    expect(bySeq).toEqual(Array.from({ length: total }, (_, i) => ({ seq: i + 1, n: i })));
    await arrived.wait(() => got.length >= total, 30_000, 'the subscriber to receive every acknowledged publish');
    expect(got).toEqual(bySeq);
  });
});
