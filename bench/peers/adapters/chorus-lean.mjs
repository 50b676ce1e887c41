/**
 * `chorus-lean`: a minimal Chorus client speaking protocol 2 (docs/protocol.md §15) over
 * `ws` — what a careful third-party client could do, to set beside the official client:
 *   - hello {v: 2}, waits for the welcome (its limits bound the frames it writes);
 *   - sub {id, topic}, its reply's `sid` names the topic's deliveries;
 *   - pub {topic, data} without an id (fire and forget, §15.3), written by hand into one
 *     frame per synchronous burst (a msgpack array16 header, then the maps);
 *   - deliveries [ref, seq, kind, ts, data, client?, epoch?] found by walking the frame's
 *     bytes, the payload handed over as a view (no copy, no object per message); any
 *     other message (welcome, reply, error, ping, acks) is decoded with msgpackr.
 * No reconnect, no resume.
 */
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { BurstWriter } from './burst-writer.mjs';

const WALK_URL = new URL('../../../dist/client/protocol/walk.js', import.meta.url);
const { skip: walkSkip } = await import(WALK_URL.href);

export const name = 'chorus-lean';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', variableMapSize: true, moreTypes: false });
let instances = 0;

export function connect(url, hooks = {}) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const bySid = new Map();
    const byTopic = new Map();
    const requests = new Map(); // request id -> { resolve, reject, topic, handler }
    const pubHeads = new Map(); // topic -> the map's bytes up to the data's bin header
    let nextId = 0;
    let welcomed = false;
    let closing = false;
    const writer = new BurstWriter(socket, {
      head: 3,
      finish: (buf, count) => {
        buf[0] = 0xdc; // array 16: valid msgpack for any count (not the shortest form)
        buf.writeUInt16BE(count, 1);
      },
    });
    const sendControl = (message) => {
      writer.flush(); // keep the order of what this connection sent
      if (socket.readyState === 1) socket.send(packr.pack([message]));
    };

    const control = (m) => {
      if (m === null || typeof m !== 'object') return;
      switch (m.type) {
        case 'welcome': {
          if (m.v !== 2) return fail(new Error(`the broker answered protocol ${m.v}, not 2`));
          writer.maxBytes = Math.min(writer.maxBytes, m.limits?.frameBytesMax ?? writer.maxBytes);
          writer.maxCount = Math.min(65535, m.limits?.frameMessagesMax ?? 1024);
          welcomed = true;
          return resolve(conn);
        }
        case 'reply': {
          const r = requests.get(m.id);
          if (r === undefined) return;
          requests.delete(m.id);
          if (typeof m.sid === 'number') bySid.set(m.sid, r.handler);
          else byTopic.set(r.topic, r.handler);
          return r.resolve();
        }
        case 'error': {
          const err = new Error(`error ${m.code}: ${m.message}`);
          const r = m.id === undefined ? undefined : requests.get(m.id);
          if (r !== undefined) {
            requests.delete(m.id);
            return r.reject(err);
          }
          return hooks.onError?.(err);
        }
        case 'ping':
          return sendControl({ type: 'pong' });
        default:
          return; // acks (none are asked for), expired …
      }
    };

    const onFrame = (b) => {
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      let p;
      let count;
      const h = b[0];
      if ((h & 0xf0) === 0x90) (count = h & 0x0f), (p = 1);
      else if (h === 0xdc) (count = b.readUInt16BE(1)), (p = 3);
      else if (h === 0xdd) (count = b.readUInt32BE(1)), (p = 5);
      else return fail(new Error('a frame that is not an array'));
      for (let i = 0; i < count; i++) {
        const m = b[p];
        if (m < 0x95 || m > 0x9f) {
          const end = skip(b, view, p);
          control(packr.unpack(b.subarray(p, end)));
          p = end;
          continue;
        }
        // A delivery: [ref, seq, kind, ts, data, client?, epoch?, …] (fields past data skipped)
        const fields = m & 0x0f;
        p++;
        let handler;
        const r = b[p];
        if ((r >= 0xa0 && r <= 0xbf) || r === 0xd9 || r === 0xda || r === 0xdb) {
          const end = skip(b, view, p);
          handler = byTopic.get(packr.unpack(b.subarray(p, end)));
          p = end;
        } else {
          handler = bySid.get(readInt(b, p));
          p = at;
        }
        const seq = readInt(b, p);
        p = skip(b, view, skip(b, view, at)); // kind, ts
        const d = b[p];
        let start;
        let end;
        if (d === 0xc4) (start = p + 2), (end = start + b[p + 1]);
        else if (d === 0xc5) (start = p + 3), (end = start + b.readUInt16BE(p + 1));
        else if (d === 0xc6) (start = p + 5), (end = start + b.readUInt32BE(p + 1));
        else (start = p), (end = skip(b, view, p)); // not binary: the msgpack bytes of the value
        p = end;
        for (let f = 5; f < fields; f++) p = skip(b, view, p);
        if (handler !== undefined) handler(b.subarray(start, end), seq);
      }
    };

    const fail = (err) => {
      if (!welcomed) reject(err);
      else hooks.onError?.(err);
      socket.terminate();
    };

    const conn = {
      subscribe(topic, handler) {
        return new Promise((res, rej) => {
          const id = ++nextId;
          requests.set(id, { resolve: res, reject: rej, topic, handler });
          sendControl({ type: 'sub', id, topic });
        });
      },
      publish(topic, bytes) {
        let head = pubHeads.get(topic);
        if (head === undefined) pubHeads.set(topic, (head = pubHead(topic)));
        const n = bytes.length;
        writer.reserve(head.length + 5 + n);
        writer.put(head);
        const w = writer.buf;
        let q = writer.len;
        if (n < 0x100) (w[q] = 0xc4), (w[q + 1] = n), (q += 2);
        else if (n < 0x10000) (w[q] = 0xc5), w.writeUInt16BE(n, q + 1), (q += 3);
        else (w[q] = 0xc6), w.writeUInt32BE(n, q + 1), (q += 5);
        writer.len = q;
        writer.put(bytes);
        writer.done();
      },
      flush: () => writer.flush(),
      bufferedAmount: () => socket.bufferedAmount,
      close() {
        closing = true;
        writer.flush();
        socket.close(1000, 'bench done');
        return Promise.resolve();
      },
    };

    socket.on('open', () => sendControl({ type: 'hello', v: 2, client: `lean-${process.pid}-${++instances}` }));
    socket.on('message', (data) => {
      try {
        onFrame(data);
      } catch (err) {
        fail(err);
      }
    });
    socket.on('error', (err) => (welcomed ? hooks.onError?.(err) : reject(err)));
    socket.on('close', (code, reason) => {
      for (const r of requests.values()) r.reject(new Error(`closed: ${code}`));
      requests.clear();
      if (!welcomed) reject(new Error(`closed before the welcome: ${code} ${reason}`));
      else if (!closing) hooks.onClose?.(code);
    });
  });
}

/** {type: "pub", topic, data: …} up to the data's value: fixmap 3, the keys, the topic. */
function pubHead(topic) {
  const t = Buffer.from(topic, 'utf8');
  const str = t.length < 32 ? Buffer.from([0xa0 | t.length]) : t.length < 256 ? Buffer.from([0xd9, t.length]) : Buffer.from([0xda, t.length >> 8, t.length & 0xff]);
  return Buffer.concat([Buffer.from([0x83, 0xa4, ...Buffer.from('type'), 0xa3, ...Buffer.from('pub'), 0xa5, ...Buffer.from('topic')]), str, t, Buffer.from([0xa4, ...Buffer.from('data')])]);
}

/** Where readInt left off. */
let at = 0;

/** A msgpack integer at p (sets `at` to the position after it). */
function readInt(b, p) {
  const v = b[p];
  if (v < 0x80) return (at = p + 1), v;
  switch (v) {
    case 0xcc:
      return (at = p + 2), b[p + 1];
    case 0xcd:
      return (at = p + 3), b.readUInt16BE(p + 1);
    case 0xce:
      return (at = p + 5), b.readUInt32BE(p + 1);
    case 0xcf:
      return (at = p + 9), b.readUInt32BE(p + 1) * 0x100000000 + b.readUInt32BE(p + 5);
    default:
      throw new Error(`not an unsigned integer: 0x${v.toString(16)}`);
  }
}

/**
 * Where the msgpack value at p ends. The project's byte walker (client/protocol/walk.ts, built
 * into dist/; not exported by dist/client/protocol/index.js, so imported by its file) does it for
 * any value. Called on its own it costs about twice a local copy's time per value (its bounds
 * check, the DataView; measured 33 vs 19 ns), and a delivery is walked over 4 scalars (kind, ts,
 * client, epoch), so the scalars a delivery carries are done here in a few lines and everything
 * else (control messages, topic refs, any other value) goes to walk.ts.
 */
function skip(b, view, p) {
  const v = b[p];
  if (v < 0x80 || v >= 0xe0) return p + 1; // fixint
  if (v >= 0xa0 && v < 0xc0) return p + 1 + (v & 0x1f); // fixstr
  switch (v) {
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
      return walkSkip(b, view, p);
  }
}
