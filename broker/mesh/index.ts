/**
 * broker/mesh — the broker on top of the core group: topic commands ordered
 * as safe abcasts on their lightweight group's stream (mesh-stream.ts), which
 * topics this broker keeps and how it loads them (replicas.ts), and the
 * runtime that drives a core Member over broker links (cluster-node.ts).
 */
export { MeshStream, epochFor, type GroupSender } from './mesh-stream.js';
export { ClusterNode, type ClusterNodeOptions } from './cluster-node.js';
export { resolveSeeds } from './seeds.js';
export { Replicas, type ReplicasHost } from './replicas.js';
export type { PeerNote } from './peer-notes.js';
