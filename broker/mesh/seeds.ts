/**
 * Finding the other brokers through DNS, as on Kubernetes: the SRV records of
 * a headless Service (`_cluster._tcp.chorus.ns.svc`, one per pod, with its
 * port) or, failing that, its A/AAAA records with the cluster port. Sorted,
 * so that every broker sees the same first seed (a StatefulSet's ordinal 0
 * sorts first by name). Re-resolved periodically by the cluster node, so
 * brokers that come and go are found.
 */
import { promises as dns } from 'node:dns';

export async function resolveSeeds(name: string, clusterPort: number): Promise<string[]> {
  try {
    const records = await dns.resolveSrv(name);
    if (records.length > 0) return [...new Set(records.map((r) => `${r.name.replace(/\.$/, '')}:${r.port}`))].sort();
  } catch {
    // no SRV records: fall back to addresses
  }
  const addresses = await dns.lookup(name, { all: true });
  return [...new Set(addresses.map((a) => (a.family === 6 ? `[${a.address}]:${clusterPort}` : `${a.address}:${clusterPort}`)))].sort();
}
