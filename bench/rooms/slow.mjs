/**
 * Phase 2 of `--rooms`: slow readers. Each is one more connection per room (the official client over
 * a `ws` socket the generator can pause, as test/integration/conflation.test.ts does), subscribed to
 * its room's `game.<n>.pos` only (no presence: it is not a player). For the measured window its TCP
 * socket is paused (nothing is read); after publishing stops it is resumed, and it counts what
 * arrives: position messages, WebSocket message bytes, and every jump in seq — each must carry
 * `skipped` (a conflated gap), never an unmarked one.
 *
 * --slow-fill-mib: right after pausing, that many MiB are published (60 KiB at a time) to a topic of
 * each reader's own, `fill.<n>.<k>` — not conflated — so the kernel's socket buffers fill up and the
 * broker has bytes it cannot write to the reader; only from then on does conflation hold positions.
 */
import { performance } from 'node:perf_hooks';
import { CLIENT_URL, round } from '../lib/common.mjs';
import { openInBatches, posTopic, subscribedOrClosed, trackedWebSocket } from './players.mjs';

const { connect, createClient } = await import(CLIENT_URL.href);

const FILL_CHUNK = 60 * 1024;
const FILL_IN_FLIGHT = 32;
const fillTopic = (room, k) => `fill.${room}.${k}`;

export class SlowReaders {
  constructor({ urls, rooms, perRoom, openBatch, fillMib, tally }) {
    Object.assign(this, { urls, rooms, perRoom, openBatch, fillMib, tally });
    this.readers = [];
  }

  async connect(deadlineMs) {
    const opened = await openInBatches(this.rooms * this.perRoom, this.openBatch, (i) => this.openReader(i), deadlineMs);
    this.readers = opened.made;
    return { failedCount: opened.failedCount, failed: opened.failed };
  }

  async openReader(i) {
    const room = Math.floor(i / this.perRoom);
    const k = i % this.perRoom;
    const s = { i, room, k, ws: undefined, last: null, paused: false, seqAtPause: null, got: 0, jumps: 0, skipped: 0, unmarkedGaps: 0, fillBytes: 0 };
    const client = createClient(this.urls[i % this.urls.length], { clientId: `slow-${room}-${k}`, reconnect: { enabled: false }, WebSocket: trackedWebSocket(s, true) });
    s.client = client;
    this.tally.watch(client, 'slow reader');
    // Until its first position, a reader's last seq is the one its subscription started after.
    const pos = client.subscribe(posTopic(room), (m) => this.onPosition(s, m)).then((sub) => (s.last ??= sub.seq));
    const subs = [pos];
    if (this.fillMib > 0) subs.push(client.subscribe(fillTopic(room, k), (m) => (s.fillBytes += m.data?.byteLength ?? 0)));
    return subscribedOrClosed(client, [client.ready, ...subs], s);
  }

  onPosition(s, m) {
    if (s.last !== null && m.seq !== s.last + 1 + (m.skipped ?? 0)) s.unmarkedGaps++;
    if (m.skipped > 0) {
      s.jumps++;
      s.skipped += m.skipped;
    }
    s.last = m.seq;
    if (s.seqAtPause !== null) s.got++;
  }

  /** Stops reading every reader's socket; their counters start from here. */
  pause() {
    for (const s of this.readers) {
      s.ws._socket.pause();
      s.seqAtPause = s.last ?? 0;
      s.pausedAt = performance.now();
      s.fillBytes = 0;
    }
  }

  /**
   * --slow-fill-mib to each reader's own fill topic, from one client on the first broker: chunk by
   * chunk to every reader in turn (so all fill at the same pace), FILL_IN_FLIGHT publishes at a time.
   */
  async fill(deadlineMs) {
    if (this.fillMib <= 0) return { fillS: 0, fillBytesPerReader: 0 };
    const t0 = performance.now();
    const filler = await connect(this.urls[0], { clientId: 'filler', reconnect: { enabled: false } });
    this.tally.watch(filler, 'filler');
    const chunk = new Uint8Array(FILL_CHUNK);
    const chunks = Math.ceil((this.fillMib * 1024 * 1024) / FILL_CHUNK);
    try {
      for (let c = 0; c < chunks; c++) {
        for (let i = 0; i < this.readers.length; i += FILL_IN_FLIGHT) {
          if (performance.now() > deadlineMs) throw new Error(`filling the slow readers took too long (${c} of ${chunks} chunks each)`);
          const batch = this.readers.slice(i, i + FILL_IN_FLIGHT);
          await Promise.all(batch.map((s) => filler.publish(fillTopic(s.room, s.k), chunk)));
        }
      }
    } finally {
      await filler.close();
    }
    return { fillS: round((performance.now() - t0) / 1000, 2), fillBytesPerReader: chunks * FILL_CHUNK };
  }

  /** Reads again (right after the window: a paused client cannot answer the broker's pings either). */
  resume() {
    this.resumedAt = performance.now();
    for (const s of this.readers) {
      s.pausedS = (this.resumedAt - s.pausedAt) / 1000;
      s.bytesAtResume = s.bytesIn;
      s.gotBeforeResume = s.got;
      s.ws._socket.resume();
    }
  }

  /**
   * Once the players have drained: waits until every reader has its room's last seq (`roomLast`)
   * — or until nothing has arrived for 3 s with readers still short ('quiet': what they miss is
   * lost), or for maxMs more while positions still arrive ('deadline': a backlog, not a loss).
   * Returns the figures of the paused readers.
   */
  async settle(roomLast, roomSent, maxMs = 30_000) {
    const t0 = performance.now();
    let lastCount = -1;
    let quietSince = t0;
    let ended = 'drained';
    for (;;) {
      const behind = this.readers.filter((s) => s.client.connected && (s.last ?? 0) < roomLast[s.room]).length;
      if (behind === 0) break;
      const count = this.readers.reduce((a, s) => a + s.got, 0);
      if (count !== lastCount) (lastCount = count), (quietSince = performance.now());
      if (performance.now() - quietSince > 3000) ended = 'quiet';
      else if (performance.now() - t0 > maxMs) ended = 'deadline';
      if (ended !== 'drained') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const drainS = (performance.now() - this.resumedAt) / 1000;
    let published = 0;
    let issued = 0;
    const sum = (f) => this.readers.reduce((a, s) => a + f(s), 0);
    for (const s of this.readers) {
      published += Math.max(0, Math.max(roomLast[s.room], s.last ?? 0) - s.seqAtPause);
      issued += roomSent === null ? 0 : roomSent[s.room];
    }
    const got = sum((s) => s.got);
    const bytes = sum((s) => s.bytesIn - s.bytesAtResume);
    const fillBytes = sum((s) => s.fillBytes);
    return {
      readers: this.readers.length,
      pausedSeconds: round(sum((s) => s.pausedS) / this.readers.length, 2),
      // Seqs of their rooms between pause and the end (what the brokers ordered), and what the generator issued to those rooms.
      publishedToTheirRooms: published,
      issuedToTheirRooms: roomSent === null ? null : issued,
      positionsReceived: got,
      receivedBeforeResume: sum((s) => s.gotBeforeResume),
      receivedOfPublished: published === 0 ? null : round(got / published, 4),
      bytesAfterResume: bytes,
      fillPayloadBytesAfterResume: fillBytes,
      positionBytesAfterResume: bytes - fillBytes,
      jumps: sum((s) => s.jumps),
      skippedMarked: sum((s) => s.skipped),
      unmarkedGaps: sum((s) => s.unmarkedGaps),
      // got + skipped must cover every seq between pause and the end: what neither covers was lost
      // (or, when the wait ended at its deadline, was still on its way).
      unaccounted: sum((s) => Math.max(0, roomLast[s.room] - s.seqAtPause - s.got - s.skipped)),
      readersShort: this.readers.filter((s) => (s.last ?? 0) < roomLast[s.room]).length,
      readersDisconnected: this.readers.filter((s) => !s.client.connected).length,
      drained: ended === 'drained',
      ended,
      // From resuming to the end of the wait (the players' drain included).
      drainS: round(drainS, 2),
    };
  }

  async close() {
    await Promise.allSettled(this.readers.map((s) => s.client.close()));
  }
}
