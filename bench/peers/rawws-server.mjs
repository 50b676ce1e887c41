#!/usr/bin/env node
/**
 * The ceiling of the side-by-side comparison: a raw `ws` relay with nothing but a
 * Map topic -> Set of sockets (wire format in rawws-wire.mjs). No ordering, no
 * history, no limits, no acknowledgement.
 *
 *   node bench/peers/rawws-server.mjs [--batched] [--port N]
 *
 * Without --batched it calls ws.send once per message per subscriber (`rawws`: one
 * WebSocket frame per message; the sends for one inbound frame corked per subscriber
 * socket, so they leave in one write); with it, the messages one subscriber gets during
 * one event-loop turn leave as one batch frame, sent from setImmediate (`rawws-batched`).
 * Prints one JSON line {"event":"listening","port":N} and runs until SIGTERM, or until
 * its stdin closes (the bench that started it went away).
 */
import { WebSocketServer } from 'ws';
import { OP_PUB, OP_SUB, OP_SUBACK, batchFrame, forEachMessage, topicOf } from './rawws-wire.mjs';

const batched = process.argv.includes('--batched');
const portArg = process.argv.indexOf('--port');
const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : 0;

/** topic -> Set of sockets */
const topics = new Map();
/** Batched mode: sockets with messages waiting this turn, and per socket its queue. */
const dirty = [];
let flushScheduled = false;

const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: false, maxPayload: 64 * 1024 * 1024 });

wss.on('connection', (ws) => {
  ws.corked = false;
  ws.subscribed = [];
  ws.queue = null;
  ws.queueBytes = 0;
  ws.on('error', () => {});
  ws.on('close', () => {
    for (const t of ws.subscribed) {
      const set = topics.get(t);
      if (set === undefined) continue;
      set.delete(ws);
      if (set.size === 0) topics.delete(t);
    }
    ws.subscribed = [];
  });
  ws.on('message', (data) => {
    const ok = forEachMessage(data, (buf, start, end) => {
      const op = buf[start];
      if (op === OP_PUB) return route(buf.subarray(start, end), topicOf(buf, start));
      if (op === OP_SUB) {
        const topic = topicOf(buf, start);
        let set = topics.get(topic);
        if (set === undefined) topics.set(topic, (set = new Set()));
        if (!set.has(ws)) {
          set.add(ws);
          ws.subscribed.push(topic);
        }
        const ack = Buffer.from(buf.subarray(start, end));
        ack[0] = OP_SUBACK;
        ws.send(ack);
      }
    });
    if (!ok) ws.terminate();
    uncorkAll();
  });
});

/**
 * Per-message mode: sockets corked while one inbound frame is routed. Without that, each
 * ws.send is its own writev syscall, and the relay measured syscalls: about 100 k frames/s
 * with the relay at 99% of a core (75% of it in writev). Corked, each subscriber still gets
 * one WebSocket frame per message, but all its frames from one inbound frame (a publisher's
 * burst) leave in one write, as a relay written with Node's streams in mind does.
 */
const corked = [];

function uncorkAll() {
  for (let i = 0; i < corked.length; i++) {
    const ws = corked[i];
    ws.corked = false;
    ws._socket?.uncork();
  }
  corked.length = 0;
}

function route(message, topic) {
  const set = topics.get(topic);
  if (set === undefined) return;
  if (!batched) {
    for (const ws of set) {
      if (!ws.corked && ws._socket !== null) {
        ws.corked = true;
        ws._socket.cork();
        corked.push(ws);
      }
      ws.send(message);
    }
    return;
  }
  for (const ws of set) {
    if (ws.queue === null) {
      ws.queue = [];
      ws.queueBytes = 0;
      dirty.push(ws);
    }
    ws.queue.push(message);
    ws.queueBytes += message.length;
  }
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function flush() {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) {
    const ws = dirty[i];
    const q = ws.queue;
    ws.queue = null;
    if (ws.readyState !== 1) continue;
    ws.send(q.length === 1 ? q[0] : batchFrame(q, ws.queueBytes));
  }
  dirty.length = 0;
}

wss.on('listening', () => {
  process.stdout.write(JSON.stringify({ event: 'listening', port: wss.address().port, mode: batched ? 'batched' : 'per-message' }) + '\n');
});
wss.on('error', (err) => {
  process.stderr.write(`rawws-server: ${err.message}\n`);
  process.exit(1);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
