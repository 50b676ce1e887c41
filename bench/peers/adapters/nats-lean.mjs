/**
 * `nats-lean`: a minimal NATS client (the text protocol, core NATS only) over the
 * server's WebSocket listener:
 *   - waits for INFO, sends CONNECT {"verbose":false,"pedantic":false} and PING; connected at PONG;
 *   - SUB <subject> <sid>, then PING: the subscription is in place at the PONG that answers it;
 *   - PUB <subject> <n>\r\n<payload>\r\n, the publishes of one synchronous burst in one frame
 *     (the line up to <n>\r\n kept per subject and size, so a publish is two copies);
 *   - MSG lines parsed by scanning the bytes in JS (no indexOf, no string, a handler found
 *     by sid in an array), a message may span frames, the payload handed over as a view;
 *   - a server PING answered with PONG.
 *
 * nats-server sends a subscriber what it has queued for it as one large WebSocket frame
 * (hundreds of MSGs, tens to hundreds of KiB), so this parser is the client's hot loop: the
 * first version found each line end with Buffer#indexOf (two native calls per message) and
 * was a quarter of the load generator's time in W1.
 */
import WebSocket from 'ws';
import { BurstWriter, Tail } from './burst-writer.mjs';

export const name = 'nats-lean';

const PING = Buffer.from('PING\r\n');
const PONG = Buffer.from('PONG\r\n');

const CR = 0x0d;
const SP = 0x20;

export function connect(url, hooks = {}) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const writer = new BurstWriter(socket);
    const tail = new Tail();
    const bySid = [undefined]; // sid -> handler (sids are 1, 2, 3 …)
    const pongWaiters = [];
    const pubHeads = new Map(); // subject -> { size, bytes: "PUB <subject> <size>\r\n" } for the last size published
    let connected = false;
    let closing = false;

    const writeRaw = (bytes) => {
      writer.reserve(bytes.length);
      writer.put(bytes);
      writer.done();
    };
    const writeText = (text) => writeRaw(Buffer.from(text, 'latin1'));
    const ping = () =>
      new Promise((res, rej) => {
        pongWaiters.push({ res, rej });
        writeRaw(PING);
      });

    /** A line other than MSG (INFO, PING, PONG, +OK, -ERR), without its CRLF. */
    const other = (text) => {
      if (text === 'PING') writeRaw(PONG);
      else if (text === 'PONG') pongWaiters.shift()?.res();
      else if (text.startsWith('INFO')) {
        if (!connected && pongWaiters.length === 0) {
          writeText('CONNECT {"verbose":false,"pedantic":false}\r\n');
          ping().then(() => {
            connected = true;
            resolve(conn);
          }, reject);
        }
      } else if (text.startsWith('-ERR')) {
        const err = new Error(`nats: ${text}`);
        if (!connected) reject(err);
        else hooks.onError?.(err);
      }
      // +OK (not asked for) and anything else: ignored
    };

    /** Parses what it can of b; returns where it stopped (an incomplete message stays for the next frame). */
    const parse = (b) => {
      const n = b.length;
      let p = 0;
      while (p < n) {
        if (b[p] === 0x4d /* M */ && b[p + 1] === 0x53 /* S */ && b[p + 2] === 0x47 /* G */ && b[p + 3] === SP) {
          // MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n
          let q = p + 4;
          while (q < n && b[q] !== SP) q++; // the subject
          q++;
          let sid = 0;
          let c;
          while (q < n && (c = b[q]) !== SP && c !== CR) (sid = sid * 10 + (c - 0x30)), q++;
          // The last field before CR is the size (a reply-to, if any, comes before it).
          let size = 0;
          while (q < n && (c = b[q]) !== CR) (size = c === SP ? 0 : size * 10 + (c - 0x30)), q++;
          const start = q + 2;
          const end = start + size;
          if (end + 2 > n) return p; // the line or the payload is not all here yet
          const handler = bySid[sid];
          if (handler !== undefined) handler(b.subarray(start, end), undefined);
          p = end + 2;
          continue;
        }
        let q = p;
        while (q < n && b[q] !== CR) q++;
        if (q + 1 >= n) return p;
        other(b.toString('latin1', p, q));
        p = q + 2;
      }
      return p;
    };

    const conn = {
      async subscribe(subject, handler) {
        const sid = bySid.length;
        bySid.push(handler);
        writeText(`SUB ${subject} ${sid}\r\n`);
        await ping();
      },
      publish(subject, bytes) {
        let head = pubHeads.get(subject);
        if (head === undefined || head.size !== bytes.length) {
          head = { size: bytes.length, bytes: Buffer.from(`PUB ${subject} ${bytes.length}\r\n`, 'latin1') };
          pubHeads.set(subject, head);
        }
        writer.reserve(head.bytes.length + bytes.length + 2);
        writer.put(head.bytes);
        writer.put(bytes);
        writer.buf[writer.len++] = CR;
        writer.buf[writer.len++] = 0x0a;
        writer.done();
      },
      flush: () => writer.flush(),
      bufferedAmount: () => socket.bufferedAmount,
      close() {
        closing = true;
        writer.flush();
        socket.close();
        return Promise.resolve();
      },
    };

    socket.on('message', (data) => {
      const b = tail.join(data);
      tail.keep(b, parse(b));
    });
    socket.on('error', (err) => (connected ? hooks.onError?.(err) : reject(err)));
    socket.on('close', (code) => {
      for (const w of pongWaiters.splice(0)) w.rej(new Error(`closed: ${code}`));
      if (!connected) reject(new Error(`closed before connecting: ${code}`));
      else if (!closing) hooks.onClose?.(code);
    });
  });
}
