/**
 * The four workloads, as the load generator (generator.mjs) runs them with one adapter:
 *   W1 fan-out:     1 publisher -> N subscribers of one topic, flow-controlled
 *                   (window: messages per subscriber published but not yet delivered);
 *   W2 many topics: C connections x T/C distinct topics each, the publisher round-robins
 *                   the T topics (window: messages in flight in total);
 *   W3 latency:     N subscribers of one topic, the publisher paced at R msg/s; the send
 *                   time (performance.now(), float64 LE) in the payload's first 8 bytes,
 *                   read back by the subscribers in the same process, on the same clock;
 *   W4 idle:        N connections each subscribed to one distinct topic, opened in batches.
 * Each setup returns an object the generator drives: go / start / end (W1–W3) or
 * open / close (W4). Seqs are checked where the protocol carries them (Chorus): each
 * subscriber's (W1, W3) or each topic's (W2) seqs must be 1, 2, 3 … with no gap and
 * no duplicate.
 */
import { createHistogram, performance } from 'node:perf_hooks';
import { FlowPublisher, PacedPublisher } from './flow.mjs';

const round = (x, d = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** What every workload counts besides its figures. */
function newIntegrity() {
  return { gaps: 0, gapMessages: 0, duplicates: 0, errors: 0, firstError: null, disconnects: 0 };
}

function hooksFor(integrity) {
  return {
    onError(err) {
      integrity.errors++;
      integrity.firstError ??= String(err?.message ?? err);
    },
    onClose() {
      integrity.disconnects++;
    },
  };
}

/** A seq check: `last` holds the last seq seen per stream (an object's field or an array slot). */
function checkSeq(integrity, last, key, seq) {
  const prev = last[key];
  if (seq === prev + 1) last[key] = seq;
  else if (seq <= prev) integrity.duplicates++;
  else {
    integrity.gaps++;
    integrity.gapMessages += seq - prev - 1;
    last[key] = seq;
  }
}

/** Opens `count` connections, `batch` at a time; each is set up by perConn(conn, i) before the next batch starts. */
async function openConnections(adapter, url, count, batch, hooks, perConn) {
  const conns = new Array(count);
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async (_, j) => {
        const conn = await adapter.connect(url, hooks);
        conns[i + j] = conn;
        await perConn(conn, i + j);
      }),
    );
  }
  return conns;
}

async function closeAll(conns) {
  for (let i = 0; i < conns.length; i += 500) await Promise.allSettled(conns.slice(i, i + 500).map((c) => c?.close()));
}

/**
 * Waits until done(), or until nothing new has arrived for quietMs (deliveries stopped), or
 * maxMs in all (deliveries still arriving: `stillArriving`).
 */
async function drain(done, progress, { quietMs = 2000, maxMs = 30_000 } = {}) {
  const t0 = performance.now();
  let last = progress();
  let lastChange = t0;
  while (!done() && performance.now() - t0 < maxMs && performance.now() - lastChange < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = progress();
    if (now !== last) (last = now), (lastChange = performance.now());
  }
  const drainS = Math.round(performance.now() - t0) / 1000;
  return { drained: done(), stillArriving: !done() && performance.now() - lastChange < quietMs, drainS };
}

/** Shared by W1–W3: the measured window's counters, the per-second series, the drain and the result. */
function measuredRun({ publisher, conns, integrity, counter, fanout, extra = () => ({}), onStart = () => {} }) {
  let start;
  let series;
  let seriesTimer;
  return {
    go: () => publisher.go(),
    start() {
      onStart();
      publisher.startMeasure();
      start = { t: performance.now(), delivered: counter.delivered, sent: publisher.sent };
      series = [];
      let prev = counter.delivered;
      seriesTimer = setInterval(() => {
        series.push(counter.delivered - prev);
        prev = counter.delivered;
      }, 1000);
    },
    async end() {
      clearInterval(seriesTimer);
      const t = performance.now();
      const delivered = counter.delivered - start.delivered;
      const published = publisher.sent - start.sent;
      const paused = publisher.endMeasure();
      const extraFigures = extra();
      publisher.stop();
      const elapsedS = (t - start.t) / 1000;
      const expected = () => publisher.sent * fanout;
      const drainResult = await drain(
        () => counter.delivered >= expected(),
        () => counter.delivered,
      );
      const result = {
        elapsedS: round(elapsedS),
        delivered,
        published,
        deliveredPerSec: Math.round(delivered / elapsedS),
        publishedPerSec: Math.round(published / elapsedS),
        perSecondDelivered: series,
        pausedBufferPct: paused.buffer === undefined ? null : round((paused.buffer / (elapsedS * 1000)) * 100, 1),
        pausedWindowPct: paused.window === undefined ? null : round((paused.window / (elapsedS * 1000)) * 100, 1),
        totalPublished: publisher.sent,
        totalDelivered: counter.delivered,
        fanout,
        deliveryRatio: publisher.sent === 0 ? null : round(counter.delivered / expected(), 6),
        ...drainResult,
        ...integrity,
        ...extraFigures,
      };
      await closeAll([publisher.conn, ...conns]);
      return result;
    },
  };
}

/** W1: p.subscribers subscribers of one topic; window p.window per subscriber. */
async function setupW1(adapter, url, p) {
  const integrity = newIntegrity();
  const hooks = hooksFor(integrity);
  const topic = 'peers.w1';
  const counter = { delivered: 0 };
  const states = [];
  let publisher = null;
  const conns = await openConnections(adapter, url, p.subscribers, p.openBatch, hooks, async (conn, i) => {
    const st = { count: 0, last: 0 };
    states[i] = st;
    await conn.subscribe(topic, (view, seq) => {
      st.count++;
      counter.delivered++;
      if (seq !== undefined) checkSeq(integrity, st, 'last', seq);
      publisher?.notify();
    });
  });
  const payload = Buffer.alloc(p.payload, 0x61);
  const item = [topic, payload];
  publisher = new FlowPublisher(await adapter.connect(url, hooks), {
    burst: p.burst,
    bufferHigh: p.bufferHigh,
    bufferLow: p.bufferLow,
    next: () => item,
    windowFree: (sent) => {
      let min = Infinity;
      for (let i = 0; i < states.length; i++) if (states[i].count < min) min = states[i].count;
      return p.window - (sent - min);
    },
  });
  return measuredRun({ publisher, conns, integrity, counter, fanout: p.subscribers });
}

/** W2: p.topics topics over p.connections connections (topic t on connection t mod C); window p.window in total. */
async function setupW2(adapter, url, p) {
  const integrity = newIntegrity();
  const hooks = hooksFor(integrity);
  const topics = Array.from({ length: p.topics }, (_, t) => `peers.w2.${t}`);
  const lastSeq = new Float64Array(p.topics);
  const counter = { delivered: 0 };
  let publisher = null;
  const conns = await openConnections(adapter, url, p.connections, p.openBatch, hooks, async (conn, c) => {
    const mine = [];
    for (let t = c; t < p.topics; t += p.connections) mine.push(t);
    await Promise.all(
      mine.map((t) =>
        conn.subscribe(topics[t], (view, seq) => {
          counter.delivered++;
          if (seq !== undefined) checkSeq(integrity, lastSeq, t, seq);
          publisher?.notify();
        }),
      ),
    );
  });
  const payload = Buffer.alloc(p.payload, 0x62);
  const items = topics.map((t) => [t, payload]);
  publisher = new FlowPublisher(await adapter.connect(url, hooks), {
    burst: p.burst,
    bufferHigh: p.bufferHigh,
    bufferLow: p.bufferLow,
    next: (i) => items[i % items.length],
    windowFree: (sent) => p.window - (sent - counter.delivered),
  });
  return measuredRun({ publisher, conns, integrity, counter, fanout: 1 });
}

/** W3: p.subscribers subscribers of one topic, the publisher paced at p.rate msg/s; latency from the payload's send time. */
async function setupW3(adapter, url, p) {
  const integrity = newIntegrity();
  const hooks = hooksFor(integrity);
  const topic = 'peers.w3';
  const counter = { delivered: 0 };
  const histogram = createHistogram();
  let measuring = false;
  const scratch = new Uint8Array(8);
  const sentAt = new Float64Array(scratch.buffer);
  const conns = await openConnections(adapter, url, p.subscribers, p.openBatch, hooks, async (conn) => {
    const st = { last: 0 };
    await conn.subscribe(topic, (view, seq) => {
      const now = performance.now();
      counter.delivered++;
      if (seq !== undefined) checkSeq(integrity, st, 'last', seq);
      if (!measuring) return;
      for (let k = 0; k < 8; k++) scratch[k] = view[k];
      histogram.record(Math.max(1, Math.round((now - sentAt[0]) * 1e6)));
    });
  });
  const payload = Buffer.alloc(p.payload, 0x63);
  const item = [topic, payload];
  const publisher = new PacedPublisher(await adapter.connect(url, hooks), {
    rate: p.rate,
    bufferHigh: p.bufferHigh,
    make: () => {
      payload.writeDoubleLE(performance.now(), 0);
      return item;
    },
  });
  const ms = (ns) => round(ns / 1e6, 3);
  const run = measuredRun({
    publisher,
    conns,
    integrity,
    counter,
    fanout: p.subscribers,
    onStart: () => {
      histogram.reset();
      measuring = true;
    },
    extra: () => {
      measuring = false;
      const pace = { maxLagMs: publisher.maxLagMs, skippedTicks: publisher.skippedTicks };
      // (the paced publisher has no window and no buffer pause: those figures stay null)
      const n = histogram.count;
      return {
        latencyMs: {
          p50: n ? ms(histogram.percentile(50)) : null,
          p90: n ? ms(histogram.percentile(90)) : null,
          p99: n ? ms(histogram.percentile(99)) : null,
          p999: n ? ms(histogram.percentile(99.9)) : null,
          max: n ? ms(histogram.max) : null,
          mean: n ? ms(histogram.mean) : null,
          samples: n,
        },
        maxScheduleLagMs: round(pace.maxLagMs),
        bufferSkippedTicks: pace.skippedTicks,
      };
    },
  });
  return run;
}

/** W4: p.connections connections, each subscribed to its own topic, opened p.batch at a time. */
async function setupW4(adapter, url, p) {
  const integrity = newIntegrity();
  const hooks = hooksFor(integrity);
  let conns = [];
  let failed = 0;
  return {
    async open() {
      const t0 = performance.now();
      const opened = [];
      for (let i = 0; i < p.connections; i += p.batch) {
        const results = await Promise.allSettled(
          Array.from({ length: Math.min(p.batch, p.connections - i) }, async (_, j) => {
            const conn = await adapter.connect(url, hooks);
            opened.push(conn);
            await conn.subscribe(`peers.w4.${i + j}`, () => {});
          }),
        );
        for (const r of results) {
          if (r.status === 'rejected') {
            failed++;
            integrity.firstError ??= String(r.reason?.message ?? r.reason);
          }
        }
      }
      conns = opened;
      const seconds = (performance.now() - t0) / 1000;
      return { openSeconds: round(seconds), opened: p.connections - failed, failed, connectsPerSec: Math.round((p.connections - failed) / seconds) };
    },
    async close() {
      const result = { ...integrity };
      await closeAll(conns);
      return result;
    },
  };
}

export const WORKLOADS = { W1: setupW1, W2: setupW2, W3: setupW3, W4: setupW4 };
