/**
 * `mosquitto-lean`: a minimal MQTT 3.1.1 client, QoS 0 only, over WebSocket
 * (subprotocol `mqtt`):
 *   - CONNECT (clean session, keep-alive 300 s: longer than any run, so no PINGREQ is
 *     needed), connected at CONNACK;
 *   - SUBSCRIBE one topic at QoS 0, in place at its SUBACK;
 *   - PUBLISH at QoS 0, the packets of one synchronous burst in one frame (MQTT over
 *     WebSocket lets a frame hold several packets);
 *   - inbound packets parsed on the bytes (a packet may span frames), a PUBLISH's
 *     payload handed over as a view, its handler found by comparing the topic's bytes
 *     (no string made per message while a connection holds 16 topics or fewer).
 * What it writes: the packets of one burst in one WebSocket frame (one ws.send; a packet is
 * never split over frames: reserve() makes room for a whole packet first). What it reads:
 * Mosquitto (libwebsockets) sends every packet to a subscriber as its own WebSocket frame, one
 * send() each (measured in W2: 74 k sendto/s for 72 k msg/s, and the generator then made 70 k
 * reads/s), so this client pays a socket read and a frame per message where the other servers
 * let it read many at once; that is the server's way of writing, not the client's.
 */
import WebSocket from 'ws';
import { BurstWriter, Tail } from './burst-writer.mjs';

export const name = 'mosquitto-lean';

let instances = 0;

export function connect(url, hooks = {}) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'mqtt', { perMessageDeflate: false });
    const writer = new BurstWriter(socket);
    const tail = new Tail();
    const handlers = new Map(); // topic -> handler
    const subs = []; // { topic: its bytes, handler }
    let only = null;
    const subAcks = new Map(); // packet id -> { res, rej }
    const topicBytes = new Map();
    let nextPacketId = 0;
    let connected = false;
    let closing = false;

    /** The fixed header: type byte and remaining length (variable-length integer). */
    const header = (type, remaining) => {
      writer.reserve(5 + remaining);
      const b = writer.buf;
      b[writer.len++] = type;
      let x = remaining;
      do {
        let digit = x % 128;
        x = Math.floor(x / 128);
        if (x > 0) digit |= 0x80;
        b[writer.len++] = digit;
      } while (x > 0);
    };
    const u16 = (n) => {
      writer.buf.writeUInt16BE(n, writer.len);
      writer.len += 2;
    };
    const topicOf = (t) => {
      let bytes = topicBytes.get(t);
      if (bytes === undefined) topicBytes.set(t, (bytes = Buffer.from(t, 'utf8')));
      return bytes;
    };

    /**
     * The handler of the topic at b[from…from+len]: with a few topics (W2 gives each connection
     * 10), compared byte by byte from the end (they share a prefix); with many, by string.
     */
    const handlerFor = (b, from, len) => {
      if (subs.length > 16) return handlers.get(b.toString('utf8', from, from + len));
      for (let i = 0; i < subs.length; i++) {
        const t = subs[i].topic;
        if (t.length !== len) continue;
        let k = len - 1;
        while (k >= 0 && t[k] === b[from + k]) k--;
        if (k < 0) return subs[i].handler;
      }
      return undefined;
    };

    const parse = (b) => {
      let p = 0;
      while (p < b.length) {
        // fixed header: type byte, then 1–4 bytes of remaining length
        let remaining = 0;
        let mult = 1;
        let q = p + 1;
        for (;;) {
          if (q >= b.length) return p;
          const digit = b[q++];
          remaining += (digit & 0x7f) * mult;
          mult *= 128;
          if ((digit & 0x80) === 0) break;
        }
        const end = q + remaining;
        if (end > b.length) return p;
        const type = b[p] >> 4;
        if (type === 3) {
          // PUBLISH: topic, [packet id if QoS > 0], payload
          const tlen = b.readUInt16BE(q);
          let start = q + 2 + tlen;
          if (((b[p] >> 1) & 3) > 0) start += 2;
          const h = only ?? handlerFor(b, q + 2, tlen);
          if (h !== undefined) h(b.subarray(start, end), undefined);
        } else if (type === 2) {
          // CONNACK: session present, return code
          if (b[q + 1] !== 0) {
            reject(new Error(`mqtt: CONNACK refused with ${b[q + 1]}`));
            socket.terminate();
          } else if (!connected) {
            connected = true;
            resolve(conn);
          }
        } else if (type === 9) {
          // SUBACK: packet id, return codes (0x80 = refused)
          const w = subAcks.get(b.readUInt16BE(q));
          subAcks.delete(b.readUInt16BE(q));
          if (w !== undefined) (b[q + 2] === 0x80 ? w.rej(new Error('mqtt: SUBSCRIBE refused')) : w.res());
        }
        // PINGRESP and anything else: ignored
        p = end;
      }
      return p;
    };

    const conn = {
      subscribe(topic, handler) {
        handlers.set(topic, handler);
        subs.push({ topic: topicOf(topic), handler });
        only = handlers.size === 1 ? handler : null;
        return new Promise((res, rej) => {
          const id = (nextPacketId = (nextPacketId % 0xffff) + 1);
          subAcks.set(id, { res, rej });
          const t = topicOf(topic);
          header(0x82, 2 + 2 + t.length + 1);
          u16(id);
          u16(t.length);
          writer.put(t);
          writer.buf[writer.len++] = 0; // requested QoS 0
          writer.done();
        });
      },
      publish(topic, bytes) {
        const t = topicOf(topic);
        header(0x30, 2 + t.length + bytes.length);
        u16(t.length);
        writer.put(t);
        writer.put(bytes);
        writer.done();
      },
      flush: () => writer.flush(),
      bufferedAmount: () => socket.bufferedAmount,
      close() {
        closing = true;
        header(0xe0, 0); // DISCONNECT
        writer.done();
        writer.flush();
        socket.close();
        return Promise.resolve();
      },
    };

    socket.on('open', () => {
      const id = Buffer.from(`lean-${process.pid}-${++instances}`);
      header(0x10, 10 + 2 + id.length);
      u16(4);
      writer.put(Buffer.from('MQTT'));
      writer.buf[writer.len++] = 4; // protocol level 3.1.1
      writer.buf[writer.len++] = 0x02; // clean session
      u16(300); // keep-alive, s
      u16(id.length);
      writer.put(id);
      writer.done();
    });
    socket.on('message', (data) => {
      const b = tail.join(data);
      tail.keep(b, parse(b));
    });
    socket.on('error', (err) => (connected ? hooks.onError?.(err) : reject(err)));
    socket.on('close', (code) => {
      for (const w of subAcks.values()) w.rej(new Error(`closed: ${code}`));
      subAcks.clear();
      if (!connected) reject(new Error(`closed before CONNACK: ${code}`));
      else if (!closing) hooks.onClose?.(code);
    });
  });
}
