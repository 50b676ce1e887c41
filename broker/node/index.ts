/**
 * broker/node — the broker's protocol above the core group, sans-I/O: topic commands ordered as
 * safe, elided abcasts on their lightweight group's stream (mesh-stream.ts), which topics this
 * broker keeps and how it loads them (replicas.ts and its parts), and the notes brokers send each
 * other point to point (peer-notes.ts). Time comes in as `now`; nothing here owns a timer, a
 * socket or a clock. broker/mesh drives it.
 */
export { MeshStream, type GroupSender } from './mesh-stream.js';
export { epochFor } from './epochs.js';
export { Replicas } from './replicas.js';
export type { ReplicasHost } from './replicas-host.js';
export { peerNote, type PeerNote } from './peer-notes.js';
export { BrokerNode, type BrokerNodeOptions, type NodeAction } from './node.js';
