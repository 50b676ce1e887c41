/**
 * The --raw-subscribers subscriber: the wire protocol over a bare `ws` socket, and the
 * msgpack frame scanner (scanFrame, skipValue) that pulls seq and data out of `msg`
 * messages without building objects. A cheaper load generator than the client
 * library, to find the broker's ceiling. Runs in the client worker thread.
 */
import { PROTOCOL_URL, TOPIC } from './common.mjs';

/**
 * Says hello in protocol 1 (maps: what the scanner reads), subscribes to TOPIC, then scans each inbound frame (a msgpack array of
 * maps) for the `msg` messages' seq and data without building any object. A frame
 * holding anything else (welcome, reply, ping, error) is decoded in full by the
 * protocol's own decoder. No reconnect: a close counts as a disconnect.
 */
export async function rawSubscriber(url, clientId, st, onDelivery) {
  const [{ default: WebSocket }, protocol] = await Promise.all([import('ws'), import(PROTOCOL_URL.href)]);
  const { encodeFrame, decodeFrame } = protocol;
  const socket = new WebSocket(url, { perMessageDeflate: false });
  let subscribed;
  const ready = new Promise((resolve, reject) => {
    subscribed = { resolve, reject };
    socket.once('error', reject);
    socket.once('close', (code, reason) => reject(new Error(`raw subscriber closed before subscribing: ${code} ${reason}`)));
  });
  socket.on('open', () => socket.send(encodeFrame([{ type: 'hello', v: 1, client: clientId }])));
  socket.on('close', () => st.disconnects++);
  socket.on('error', () => {});
  const control = (message) => {
    switch (message.type) {
      case 'welcome':
        socket.send(encodeFrame([{ type: 'sub', id: 1, topic: TOPIC }]));
        return;
      case 'reply':
        if (message.id === 1) subscribed.resolve();
        return;
      case 'ping':
        socket.send(encodeFrame([{ type: 'pong' }]));
        return;
      case 'error':
        if (message.id === 1) subscribed.reject(new Error(`subscribe refused: ${message.code} ${message.message}`));
        return;
      case 'msg':
        onDelivery(st, message.seq, message.data, 0);
        return;
      default:
        return;
    }
  };
  const found = { seq: 0, dataAt: -1 };
  socket.on('message', (buf) => {
    if (!scanFrame(buf, found, (seq, dataAt) => onDelivery(st, seq, buf, dataAt))) {
      const decoded = decodeFrame(buf);
      if (!decoded.ok) return socket.terminate();
      for (const m of decoded.messages) control(m);
    }
  });
  await ready;
  return { close: () => socket.close(1000, 'bench done') };
}

/**
 * Scans a frame of `msg` messages: calls deliver(seq, dataOffset) for each and
 * returns true; returns false, having delivered nothing, as soon as the frame holds
 * anything but msg messages (the caller then decodes it in full).
 */
export function scanFrame(b, found, deliver) {
  let p = 0;
  let count;
  const h = b[p++];
  if ((h & 0xf0) === 0x90) count = h & 0x0f;
  else if (h === 0xdc) (count = (b[p] << 8) | b[p + 1]), (p += 2);
  else if (h === 0xdd) (count = b.readUInt32BE(p)), (p += 4);
  else return false;
  const seqs = [];
  const offsets = [];
  for (let i = 0; i < count; i++) {
    const m = b[p++];
    let keys;
    if ((m & 0xf0) === 0x80) keys = m & 0x0f;
    else if (m === 0xde) (keys = (b[p] << 8) | b[p + 1]), (p += 2);
    else return false;
    let isMsg = false;
    found.seq = -1;
    found.dataAt = -1;
    for (let k = 0; k < keys; k++) {
      // Keys are short strings: type, topic, seq, kind, data, ts, client.
      const kh = b[p];
      if ((kh & 0xe0) !== 0xa0) return false;
      const klen = kh & 0x1f;
      const k0 = b[p + 1];
      const k1 = b[p + 2];
      p += 1 + klen;
      if (klen === 4 && k0 === 0x74 && k1 === 0x79) {
        // "type": must be the fixstr "msg"
        if (b[p] !== 0xa3 || b[p + 1] !== 0x6d || b[p + 2] !== 0x73 || b[p + 3] !== 0x67) return false;
        isMsg = true;
        p += 4;
      } else if (klen === 3 && k0 === 0x73 && k1 === 0x65) {
        // "seq": a positive integer
        const v = b[p];
        if (v < 0x80) (found.seq = v), (p += 1);
        else if (v === 0xcc) (found.seq = b[p + 1]), (p += 2);
        else if (v === 0xcd) (found.seq = b.readUInt16BE(p + 1)), (p += 3);
        else if (v === 0xce) (found.seq = b.readUInt32BE(p + 1)), (p += 5);
        else if (v === 0xcf) (found.seq = Number(b.readBigUInt64BE(p + 1))), (p += 9);
        else return false;
      } else if (klen === 4 && k0 === 0x64 && k1 === 0x61) {
        // "data": binary
        const v = b[p];
        if (v === 0xc4) (found.dataAt = p + 2), (p += 2 + b[p + 1]);
        else if (v === 0xc5) (found.dataAt = p + 3), (p += 3 + b.readUInt16BE(p + 1));
        else if (v === 0xc6) (found.dataAt = p + 5), (p += 5 + b.readUInt32BE(p + 1));
        else return false;
      } else {
        p = skipValue(b, p);
        if (p < 0) return false;
      }
    }
    if (!isMsg || found.seq < 0 || found.dataAt < 0) return false;
    seqs.push(found.seq);
    offsets.push(found.dataAt);
  }
  for (let i = 0; i < seqs.length; i++) deliver(seqs[i], offsets[i]);
  return true;
}

/** Position after the msgpack value at p; -1 for one this scanner does not skip. */
export function skipValue(b, p) {
  const v = b[p];
  if (v < 0x80 || v >= 0xe0 || v === 0xc0 || v === 0xc2 || v === 0xc3) return p + 1;
  if ((v & 0xe0) === 0xa0) return p + 1 + (v & 0x1f);
  switch (v) {
    case 0xd9: // str 8
    case 0xc4: // bin 8
      return p + 2 + b[p + 1];
    case 0xda: // str 16
    case 0xc5: // bin 16
      return p + 3 + b.readUInt16BE(p + 1);
    case 0xdb: // str 32
    case 0xc6: // bin 32
      return p + 5 + b.readUInt32BE(p + 1);
    case 0xcc:
    case 0xd0:
      return p + 2;
    case 0xcd:
    case 0xd1:
      return p + 3;
    case 0xca:
    case 0xce:
    case 0xd2:
      return p + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return p + 9;
    default:
      return -1; // nested array/map or extension: not in a msg's top-level fields the bench sends
  }
}
