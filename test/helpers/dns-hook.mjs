/**
 * A test's DNS, preloaded into a broker process (`NODE_OPTIONS=--import <this file>`): answers
 * the names in the JSON table of CHORUS_TEST_DNS, `{ "srv": { name: [{ name, port }] },
 * "hosts": { name: ipv4 } }`, and passes every other name to the real resolver. It patches exactly
 * what the broker calls: `dns.promises.resolveSrv` and `dns.promises.lookup` (broker/mesh/seeds.ts)
 * and the callback `dns.lookup`, which net.connect and tls.connect use for a host name (broker
 * links, broker/transport/links.ts, and the founding probe, broker/mesh/cluster-node.ts). Without
 * the variable it changes nothing.
 */
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';

const raw = process.env['CHORUS_TEST_DNS'];
if (raw !== undefined && raw !== '') {
  const table = JSON.parse(raw);
  const srv = new Map(Object.entries(table.srv ?? {}).map(([name, records]) => [name.toLowerCase(), records]));
  const hosts = new Map(Object.entries(table.hosts ?? {}).map(([name, ip]) => [name.toLowerCase(), ip]));
  const key = (name) => String(name).toLowerCase().replace(/\.$/, '');
  const notFound = (syscall, name) => Object.assign(new Error(`${syscall} ENOTFOUND ${name}`), { code: 'ENOTFOUND', syscall, hostname: name });
  const answer = (address, options) => (typeof options === 'object' && options?.all ? [{ address, family: 4 }] : { address, family: 4 });

  const realResolveSrv = dns.promises.resolveSrv;
  dns.promises.resolveSrv = async function resolveSrv(name) {
    const records = srv.get(key(name));
    if (records === undefined) return realResolveSrv.call(this, name);
    if (records.length === 0) throw notFound('querySrv', name);
    return records.map((r) => ({ name: r.name, port: r.port, priority: r.priority ?? 0, weight: r.weight ?? 0 }));
  };

  const realLookupPromise = dns.promises.lookup;
  dns.promises.lookup = async function lookup(name, options) {
    const ip = hosts.get(key(name));
    return ip === undefined ? realLookupPromise.call(this, name, options) : answer(ip, options);
  };

  const realLookup = dns.lookup;
  dns.lookup = function lookup(name, options, callback) {
    const done = typeof options === 'function' ? options : callback;
    const ip = hosts.get(key(name));
    if (ip === undefined) return realLookup.call(this, name, options, callback);
    const found = answer(ip, options);
    process.nextTick(() => (Array.isArray(found) ? done(null, found) : done(null, found.address, found.family)));
    return {};
  };

  // Named imports of node:dns (`import { lookup } from 'node:dns'`) see the patched functions too.
  syncBuiltinESMExports();
}
