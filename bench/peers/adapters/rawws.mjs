/**
 * Adapter for the raw `ws` relay (peers `rawws` and `rawws-batched`; wire format in
 * ../rawws-wire.mjs). Publishes of one synchronous burst leave as one batch frame;
 * inbound frames are single messages or batches, handed over as views.
 */
import WebSocket from 'ws';
import { OP_BATCH, OP_PUB, OP_SUB, OP_SUBACK, payloadStart, topicOf } from '../rawws-wire.mjs';
import { BurstWriter } from './burst-writer.mjs';

export const name = 'rawws';

export function connect(url, hooks = {}) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const handlers = new Map();
    let only = null; // the handler when the connection holds one topic: no lookup
    const subAcks = new Map(); // topic -> [resolve]
    const topicBytes = new Map();
    let opened = false;
    let closing = false;
    const writer = new BurstWriter(socket, {
      head: 1,
      finish: (buf, count) => {
        buf[0] = OP_BATCH;
        void count;
      },
    });

    const writeMessage = (op, topic, payload) => {
      let t = topicBytes.get(topic);
      if (t === undefined) topicBytes.set(topic, (t = Buffer.from(topic, 'latin1')));
      const len = 3 + t.length + payload.length;
      writer.reserve(4 + len);
      const b = writer.buf;
      b.writeUInt32BE(len, writer.len);
      b[writer.len + 4] = op;
      b.writeUInt16BE(t.length, writer.len + 5);
      writer.len += 7;
      writer.put(t);
      writer.put(payload);
      writer.done();
    };

    const onMessage = (buf, start, end) => {
      const op = buf[start];
      if (op === OP_PUB) {
        const h = only ?? handlers.get(topicOf(buf, start));
        if (h !== undefined) h(buf.subarray(payloadStart(buf, start), end), undefined);
      } else if (op === OP_SUBACK) {
        const waiting = subAcks.get(topicOf(buf, start));
        waiting?.shift()?.();
      }
    };

    socket.on('message', (data) => {
      if (data[0] !== OP_BATCH) return onMessage(data, 0, data.length);
      let p = 1;
      while (p < data.length) {
        const len = data.readUInt32BE(p);
        onMessage(data, p + 4, p + 4 + len);
        p += 4 + len;
      }
    });
    socket.on('error', (err) => {
      if (!opened) reject(err);
      else hooks.onError?.(err);
    });
    socket.on('close', (code) => {
      if (!opened) reject(new Error(`closed before open: ${code}`));
      else if (!closing) hooks.onClose?.(code);
    });
    socket.on('open', () => {
      opened = true;
      resolve({
        subscribe(topic, handler) {
          handlers.set(topic, handler);
          only = handlers.size === 1 ? handler : null;
          return new Promise((res) => {
            let list = subAcks.get(topic);
            if (list === undefined) subAcks.set(topic, (list = []));
            list.push(res);
            writeMessage(OP_SUB, topic, EMPTY);
          });
        },
        publish(topic, bytes) {
          writeMessage(OP_PUB, topic, bytes);
        },
        flush: () => writer.flush(),
        bufferedAmount: () => socket.bufferedAmount,
        close() {
          closing = true;
          writer.flush();
          socket.close();
          return Promise.resolve();
        },
      });
    });
  });
}

const EMPTY = Buffer.alloc(0);
