// Proves TLS: clients reach a broker over https and wss with its certificate (and a client that
// does not trust it cannot connect); brokers form a mesh over mutual TLS and a broker whose
// certificate another CA signed is refused at TLS (counted), though it knows the cluster secret.
// Certificates: test/fixtures/tls (throwaway, for tests only).
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { WebSocketConstructor } from '../../client/websocket.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { freePorts, since } from '../helpers/mesh.js';
import { Condition, within } from '../helpers/wait.js';

const dir = 'test/fixtures/tls';
const ca = readFileSync(`${dir}/ca.crt`, 'utf8');
const tlsArgs = ['--tls-cert', `${dir}/broker.crt`, '--tls-key', `${dir}/broker.key`, '--hello-timeout-ms', '1000'];

/** A `ws` WebSocket that trusts the test CA, as the client library's constructor. */
function trustingWebSocket(trusted: string | undefined): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url, trusted === undefined ? {} : { ca: trusted });
    }
  } as unknown as WebSocketConstructor;
}

function getJson(url: string, trusted: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: new Agent({ ca: trusted }) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

let brokers: BrokerProcess[] = [];
afterEach(async () => {
  await Promise.all(brokers.map((b) => b.stop('SIGKILL')));
  brokers = [];
});

describe('TLS', () => {
  it('serves clients over https and wss; a client that does not trust the certificate cannot connect', async () => {
    const broker = await startBrokerProcess(tlsArgs);
    brokers.push(broker);
    expect(broker.url.startsWith('wss://')).toBe(true);
    expect(broker.httpUrl.startsWith('https://')).toBe(true);
    expect((await getJson(`${broker.httpUrl}/readyz`, ca)).status).toBe(200);
    const client = await connect(broker.url, { WebSocket: trustingWebSocket(ca) });
    const got: unknown[] = [];
    const arrived = new Condition();
    await client.subscribe('tls.room', (m) => (got.push(m.data), arrived.notify()), { state: true });
    expect((await client.publish('tls.room', 'over tls')).seq).toBe(1);
    await arrived.wait(() => got.length === 1, 5000, 'the message over wss');
    expect(got).toEqual(['over tls']);
    await client.close();
    await expect(connect(broker.url, { WebSocket: trustingWebSocket(undefined), reconnect: { enabled: false }, connectTimeoutMs: 3000 })).rejects.toThrow();
    // A connection that never starts its TLS handshake is closed (slowloris over TLS).
    const { connect: tcpConnect } = await import('node:net');
    const idle = tcpConnect({ host: '127.0.0.1', port: broker.port });
    idle.on('error', () => {});
    idle.resume();
    await within(new Promise<void>((resolve) => idle.once('close', () => resolve())), 10_000, 'the idle TLS connection to be closed');
  });

  it('forms a mesh over mutual TLS and refuses a broker whose certificate another CA signed', async () => {
    let ports = await freePorts(6);
    const seedsOf = () => ports.slice(0, 3).map((p) => `127.0.0.1:${p}`).join(',');
    const args = (i: number, cert: string) => [
      '--name', `t${i}`, '--port', String(ports[3 + i]), '--cluster-port', String(ports[i]), '--seeds', seedsOf(), '--cluster-secret', 'tls-mesh-secret',
      '--cluster-tls-cert', `${dir}/${cert}.crt`, '--cluster-tls-key', `${dir}/${cert}.key`, '--cluster-tls-ca', `${dir}/ca.crt`,
    ];
    // Ports found free may be taken by a test beside this one before the brokers bind them: retry.
    for (let attempt = 1; ; attempt++) {
      const started = await Promise.allSettled([0, 1].map((i) => startBrokerProcess(args(i, 'broker'))));
      brokers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed === undefined) break;
      await Promise.all(brokers.map((b) => b.stop('SIGKILL')));
      brokers = [];
      if (attempt >= 3 || !/EADDRINUSE/.test(String(failed.reason))) throw failed.reason;
      ports = await freePorts(6);
    }
    await Promise.all(brokers.map((b) => b.waitForEvent((e) => e['event'] === 'cluster-view' && (e['members'] as string[]).length === 2, 20_000, 'a view of 2')));
    // The rogue knows the secret but its certificate comes from another CA.
    const fresh = since();
    const rogue = await startBrokerProcess([...args(2, 'rogue').slice(0, -2), '--cluster-tls-ca', `${dir}/other-ca.crt`]);
    brokers.push(rogue);
    await brokers[0]!.waitForEvent((e) => fresh(e) && e['event'] === 'cluster-link-refused' && e['reason'] === 'tls', 20_000, 'the rogue refused at TLS');
    expect(await (await fetch(`${brokers[0]!.httpUrl}/metrics`)).text()).toMatch(/^chorus_cluster_links_refused_total\{reason="tls"\} [1-9]/m);
    const view = (await (await fetch(`${brokers[0]!.httpUrl}/api/v1/cluster`)).json()) as { view: { members: string[] } };
    expect(view.view.members.map((m) => m.split('#')[0]).sort()).toEqual(['t0', 't1']);
    // The two good brokers talk: a publish through one reaches a subscriber on the other.
    const a = await connect(brokers[0]!.url);
    const b = await connect(brokers[1]!.url);
    const got: unknown[] = [];
    const arrived = new Condition();
    await b.subscribe('tls.mesh', (m) => (got.push(m.data), arrived.notify()));
    await a.publish('tls.mesh', 'hello');
    await arrived.wait(() => got.length === 1, 10_000, 'the message across the mutual-TLS mesh');
    await a.close();
    await b.close();
  });
});
