// Regression (unit, broker/server/session.ts): while a session holds conflated events of a topic,
// the topic's join/leave goes out behind them (deliverPresence), never before: joins and leaves
// are ordered among the messages, so a game never sees a player's last position after its leave.
import { expect, it, onTestFinished, vi } from 'vitest';
import { encode, encodeMessageV1, readFrame } from '../../client/protocol/index.js';
import { Session, type SessionHost } from '../../broker/server/session.js';
import { HistoryEntry } from '../../broker/topics/index.js';

function entry(seq: number, client: string): HistoryEntry {
  const parts = { topic: 'game.1.pos', seq, kind: 'event' as const, ts: 0, data: encode({ x: seq }), client };
  return HistoryEntry.loaded(seq, encodeMessageV1(parts).encoded, parts);
}

it('a leave ordered after a held event reaches the subscriber after it', () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
  onTestFinished(() => void vi.useRealTimers());
  const frames: Uint8Array[] = [];
  const socket = { bufferedAmount: 100_000, send: (f: Uint8Array) => frames.push(f), close() {}, terminate() {} };
  let dirty = false;
  const host: SessionHost = { schedule: () => void (dirty = true), closing() {}, wrote() {}, conflated() {} };
  const session = new Session('s', 'c', socket as never, { outboundBytesMax: 8 << 20, outboundAgeMaxMs: 30_000, frameBytesOutMax: 1 << 20 }, host, performance.now(), 2);
  // Topic order: seq 5 (player p's last position), then p leaves (after seq 5).
  session.deliverMessage(entry(5, 'p'), 3, true); // held: the socket is behind
  session.deliverPresence(encode({ type: 'leave', topic: 'game.1.pos', session: 'sp', client: 'p', seq: 5 }), 3);
  socket.bufferedAmount = 0; // caught up
  vi.advanceTimersByTime(100); // the session looks every 20 ms whether its socket caught up
  if (dirty) session.flush(performance.now());
  const order = frames.flatMap((f) => readFrame(f)).map((m) => (Array.isArray(m) ? `msg ${m[1]}` : (m as { type: string }).type));
  session.close(1000, '');
  expect(order).toEqual(['msg 5', 'leave']);
});
