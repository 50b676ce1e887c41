/**
 * `nats-lean`: a minimal NATS client (the text protocol, core NATS only) over the
 * server's WebSocket listener:
 *   - waits for INFO, sends CONNECT {"verbose":false,"pedantic":false} and PING; connected at PONG;
 *   - SUB <subject> <sid>, then PING: the subscription is in place at the PONG that answers it;
 *   - PUB <subject> <n>\r\n<payload>\r\n, the publishes of one synchronous burst in one frame;
 *   - MSG lines parsed on the bytes (a message may span frames), the payload handed over as a view;
 *   - a server PING answered with PONG.
 */
import WebSocket from 'ws';
import { BurstWriter, Tail } from './burst-writer.mjs';

export const name = 'nats-lean';

const CRLF = Buffer.from('\r\n');
const PING = Buffer.from('PING\r\n');
const PONG = Buffer.from('PONG\r\n');

export function connect(url, hooks = {}) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const writer = new BurstWriter(socket);
    const tail = new Tail();
    const bySid = new Map();
    const pongWaiters = [];
    const pubHeads = new Map(); // subject -> "PUB <subject> "
    let nextSid = 0;
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

    const line = (b, from, to) => b.toString('latin1', from, to);

    /** Parses what it can of b; returns where it stopped (an incomplete message stays for the next frame). */
    const parse = (b) => {
      let p = 0;
      while (p < b.length) {
        const eol = b.indexOf(CRLF, p);
        if (eol < 0) return p;
        const c = b[p];
        if (c === 0x4d /* M */) {
          // MSG <subject> <sid> [reply-to] <#bytes>
          const s1 = b.indexOf(0x20, p + 4);
          let sid = 0;
          let q = s1 + 1;
          for (; b[q] !== 0x20 && q < eol; q++) sid = sid * 10 + (b[q] - 0x30);
          let digitsFrom = eol - 1;
          while (b[digitsFrom - 1] !== 0x20) digitsFrom--;
          let n = 0;
          for (let k = digitsFrom; k < eol; k++) n = n * 10 + (b[k] - 0x30);
          const start = eol + 2;
          const end = start + n;
          if (end + 2 > b.length) return p;
          const handler = bySid.get(sid);
          if (handler !== undefined) handler(b.subarray(start, end), undefined);
          p = end + 2;
          continue;
        }
        const text = line(b, p, eol);
        p = eol + 2;
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
      }
      return p;
    };

    const conn = {
      async subscribe(subject, handler) {
        const sid = ++nextSid;
        bySid.set(sid, handler);
        writeText(`SUB ${subject} ${sid}\r\n`);
        await ping();
      },
      publish(subject, bytes) {
        let head = pubHeads.get(subject);
        if (head === undefined) pubHeads.set(subject, (head = Buffer.from(`PUB ${subject} `, 'latin1')));
        const digits = String(bytes.length);
        writer.reserve(head.length + digits.length + 4 + bytes.length);
        writer.put(head);
        writer.len += writer.buf.write(digits, writer.len, 'latin1');
        writer.put(CRLF);
        writer.put(bytes);
        writer.put(CRLF);
        writer.done();
      },
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
