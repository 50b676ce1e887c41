/**
 * broker/transport — TCP links between brokers: length-prefixed msgpack
 * frames, one write per peer per turn, redial with backoff, and mutual
 * authentication by a shared cluster secret (challenge and response; the
 * secret never crosses the wire). A peer that fails the handshake or sends a
 * bad frame is refused and counted, and never reaches the core group.
 */
export { Links, type LinksOptions } from './links.js';
export { FrameDecoder, encodeLinkFrame, type FrameEvent } from './framing.js';
export { peerProtocol, proof } from './handshake.js';
