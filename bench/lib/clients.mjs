/**
 * The client worker thread: one publisher and N subscribers, each on its own
 * connection (the real client library, or with --raw-subscribers the bare-ws
 * subscriber); the publisher on one broker, the subscribers on the same one or (with
 * --mesh) on another broker of the mesh. End-to-end flow control, per-subscriber seq
 * checks and the latency histogram. The main thread (bench/lib/measure.mjs) starts this
 * file as a Worker and drives the phases with 'go' / 'start' / 'end' messages; it
 * answers 'ready', 'result' or 'error'.
 */
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { CLIENT_URL, TOPIC, round } from './common.mjs';
import { rawSubscriber } from './raw-subscriber.mjs';

if (!isMainThread) {
  await workerMain(workerData);
}

export async function workerMain(cfg) {
  try {
    await runClients(cfg);
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: err?.stack ?? String(err) });
  }
}

/** publisherUrl / subscriberUrl: the brokers the publisher and the subscribers connect to (the same for one broker; `url` sets both). */
export async function runClients({ url, publisherUrl = url, subscriberUrl = url, subscribers: n, payload, rate, window, burst, raw }) {
  const { connect } = await import(CLIENT_URL.href);

  // In-flight tracking: remaining[seq & mask] = subscribers still to receive `seq`.
  let ringSize = 1;
  while (ringSize < 2 * window + 2) ringSize *= 2;
  const mask = ringSize - 1;
  const remaining = new Int32Array(ringSize);
  let sent = 0; // publishes issued; seq k is publish k (fresh topic, one publisher)
  let doneSeq = 0; // every seq <= doneSeq reached every subscriber (or was skipped by a gap)

  let measuring = false;
  let delivered = 0;
  let seqMismatches = 0;
  const latency = createHistogram();
  const scratch = new Uint8Array(16);
  const scratchF64 = new Float64Array(scratch.buffer);

  let publishing = false;
  let pumpScheduled = false;
  let acked = 0;
  let lastAckSeq = 0;
  let publishErrors = 0;
  let firstPublishError = null;
  let rateStart = 0;

  const states = [];
  const clients = [];

  const complete = (seq) => {
    const slot = seq & mask;
    if (--remaining[slot] === 0) {
      while (doneSeq < sent && remaining[(doneSeq + 1) & mask] === 0) doneSeq++;
      if (publishing && !pumpScheduled) {
        pumpScheduled = true;
        setImmediate(pump);
      }
    }
  };

  /** One delivered message: its seq, and its payload at bytes[offset…]. */
  const onDelivery = (st, seq, bytes, offset) => {
    const now = performance.now();
    if (seq <= st.last) {
      st.dup++;
      return;
    }
    if (seq !== st.last + 1) {
      st.gaps++;
      st.gapMsgs += seq - st.last - 1;
      for (let s = st.last + 1; s < seq; s++) complete(s);
    }
    st.last = seq;
    st.count++;
    delivered++;
    for (let k = 0; k < 16; k++) scratch[k] = bytes[offset + k];
    if (scratchF64[1] + 1 !== seq) seqMismatches++;
    if (measuring) latency.record(Math.max(1, Math.round((now - scratchF64[0]) * 1e6)));
    complete(seq);
  };
  const makeHandler = (st) => (msg) => onDelivery(st, msg.seq, msg.data, 0);

  // ---- connect ------------------------------------------------------------------
  const tConnect = performance.now();
  const publisher = await connect(publisherUrl, { clientId: 'bench-publisher' });
  const batch = 20;
  for (let i = 0; i < n; i += batch) {
    const made = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, async (_, j) => {
        const st = { id: i + j, last: 0, count: 0, countAtStart: 0, dup: 0, gaps: 0, gapMsgs: 0, disconnects: 0, resyncs: 0 };
        if (raw) return { st, client: await rawSubscriber(subscriberUrl, `bench-sub-${i + j}`, st, onDelivery) };
        const client = await connect(subscriberUrl, { clientId: `bench-sub-${i + j}` });
        client.on('disconnected', () => st.disconnects++);
        client.on('error', () => {});
        await client.subscribe(TOPIC, makeHandler(st), { onResync: () => st.resyncs++ });
        return { st, client };
      }),
    );
    for (const { st, client } of made) {
      states.push(st);
      clients.push(client);
    }
  }
  let publisherDisconnects = 0;
  publisher.on('disconnected', () => publisherDisconnects++);
  publisher.on('error', () => {});
  const connectMs = Math.round(performance.now() - tConnect);

  // ---- publish ------------------------------------------------------------------
  const publishOne = () => {
    const data = new Uint8Array(payload);
    const index = sent;
    sent++;
    remaining[sent & mask] = n;
    const view = new DataView(data.buffer);
    view.setFloat64(8, index, true);
    view.setFloat64(0, performance.now(), true);
    publisher.publish(TOPIC, data).then(
      (r) => {
        acked++;
        if (r.seq > lastAckSeq) lastAckSeq = r.seq;
      },
      (err) => {
        publishErrors++;
        firstPublishError ??= String(err?.message ?? err);
      },
    );
  };
  function pump() {
    pumpScheduled = false;
    if (!publishing) return;
    let budget = window - (sent - doneSeq);
    if (rate !== null) budget = Math.min(budget, Math.floor(((performance.now() - rateStart) * rate) / 1000) - sent);
    const now = Math.min(budget, burst);
    for (let i = 0; i < now; i++) publishOne();
    if (budget > now && !pumpScheduled) {
      pumpScheduled = true;
      setImmediate(pump);
    }
  }

  // ---- phases, driven by the main thread ---------------------------------------------
  let rateTimer;
  let start;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  parentPort.on('message', async (m) => {
    try {
      if (m.cmd === 'go') {
        publishing = true;
        rateStart = performance.now();
        if (rate !== null) rateTimer = setInterval(pump, 1);
        pump();
      } else if (m.cmd === 'start') {
        measuring = true;
        latency.reset();
        loopDelay.enable();
        for (const st of states) st.countAtStart = st.count;
        start = { t: performance.now(), delivered, sent, elu: performance.eventLoopUtilization() };
      } else if (m.cmd === 'end') {
        measuring = false;
        publishing = false;
        clearInterval(rateTimer);
        const end = { t: performance.now(), delivered, sent, elu: performance.eventLoopUtilization(start.elu) };
        loopDelay.disable();
        const perSub = states.map((st) => st.count - st.countAtStart);

        // Drain: wait (bounded) for every publish to be answered and to reach every subscriber.
        const deadline = performance.now() + 10_000;
        let drained = false;
        while (performance.now() < deadline) {
          if (acked + publishErrors >= sent && states.every((st) => st.last >= lastAckSeq)) {
            drained = true;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const finalSeq = Math.max(lastAckSeq, sent - publishErrors);
        let lost = 0;
        let duplicated = 0;
        let gaps = 0;
        let disconnects = publisherDisconnects;
        let resyncs = 0;
        for (const st of states) {
          lost += st.gapMsgs + Math.max(0, finalSeq - st.last);
          duplicated += st.dup;
          gaps += st.gaps;
          disconnects += st.disconnects;
          resyncs += st.resyncs;
        }
        const ms = (ns) => round(ns / 1e6, 3);
        const samples = latency.count;
        parentPort.postMessage({
          type: 'result',
          elapsedS: (end.t - start.t) / 1000,
          delivered: end.delivered - start.delivered,
          published: end.sent - start.sent,
          perSubMin: Math.min(...perSub),
          perSubMax: Math.max(...perSub),
          latencyMs: {
            p50: samples ? ms(latency.percentile(50)) : null,
            p90: samples ? ms(latency.percentile(90)) : null,
            p99: samples ? ms(latency.percentile(99)) : null,
            p999: samples ? ms(latency.percentile(99.9)) : null,
            max: samples ? ms(latency.max) : null,
            mean: samples ? ms(latency.mean) : null,
            samples,
          },
          eventLoopUtilization: end.elu.utilization,
          eventLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6, 2),
          lost,
          duplicated,
          gaps,
          seqMismatches,
          publishErrors,
          firstPublishError,
          disconnects,
          resyncs,
          drained,
          totalPublished: sent,
        });
        await Promise.allSettled([publisher.close(), ...clients.map((c) => c.close())]);
      }
    } catch (err) {
      parentPort.postMessage({ type: 'error', message: err?.stack ?? String(err) });
    }
  });
  parentPort.postMessage({ type: 'ready', connectMs });
}
