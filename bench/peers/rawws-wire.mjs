/**
 * The wire format of the raw `ws` relay (rawws-server.mjs) and its bench client
 * (adapters/rawws.mjs). Deliberately trivial, so that the relay measures `ws` and Node,
 * nothing else:
 *
 *   message  = op (1 byte) | topic length (uint16 BE) | topic (latin1) | payload
 *   batch    = OP_BATCH (1 byte) | (length (uint32 BE) | message)*
 *
 * A client sends OP_SUB messages (answered by OP_SUBACK with the same topic) and
 * OP_PUB messages, alone or in a batch. The relay forwards each OP_PUB message's bytes
 * unchanged to every subscriber of its topic: one frame per message (`rawws`), or the
 * messages of one event-loop turn for that subscriber as one batch frame (`rawws-batched`).
 */

export const OP_SUB = 1;
export const OP_PUB = 2;
export const OP_BATCH = 3;
export const OP_SUBACK = 4;

/** One message: op, topic, payload (payload may be empty). */
export function encodeMessage(op, topic, payload = EMPTY) {
  const t = Buffer.from(topic, 'latin1');
  const out = Buffer.allocUnsafe(3 + t.length + payload.length);
  out[0] = op;
  out.writeUInt16BE(t.length, 1);
  t.copy(out, 3);
  out.set(payload, 3 + t.length);
  return out;
}

/** Calls fn(buf, start, end) for each message of a frame (a single message or a batch); false on a malformed frame. */
export function forEachMessage(buf, fn) {
  if (buf.length === 0) return false;
  if (buf[0] !== OP_BATCH) {
    if (buf.length < 3) return false;
    fn(buf, 0, buf.length);
    return true;
  }
  let p = 1;
  while (p < buf.length) {
    if (p + 4 > buf.length) return false;
    const len = buf.readUInt32BE(p);
    p += 4;
    if (len < 3 || p + len > buf.length) return false;
    fn(buf, p, p + len);
    p += len;
  }
  return true;
}

/** The topic of the message at buf[start…]. */
export function topicOf(buf, start) {
  const len = buf.readUInt16BE(start + 1);
  return buf.toString('latin1', start + 3, start + 3 + len);
}

/** Where the payload of the message at buf[start…] begins. */
export function payloadStart(buf, start) {
  return start + 3 + buf.readUInt16BE(start + 1);
}

/** A batch frame of these messages (each a Buffer). */
export function batchFrame(messages, bytes) {
  const out = Buffer.allocUnsafe(1 + 4 * messages.length + bytes);
  out[0] = OP_BATCH;
  let p = 1;
  for (const m of messages) {
    out.writeUInt32BE(m.length, p);
    out.set(m, p + 4);
    p += 4 + m.length;
  }
  return out;
}

const EMPTY = Buffer.alloc(0);
