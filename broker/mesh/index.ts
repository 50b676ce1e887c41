/**
 * broker/mesh — the runtime that drives a broker in a group: a core Member and the broker node
 * (broker/node) over broker links, with the timers, the seeds (DNS) and the founding probe
 * (cluster-node.ts).
 */
export { ClusterNode, meshCoreDefaults, type ClusterNodeOptions } from './cluster-node.js';
export { resolveSeeds } from './seeds.js';
