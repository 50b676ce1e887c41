// Acknowledgements and announcements of stability (broker/core/heartbeats.ts, channel.ts): when a
// member's round goes out — once a tick, and again within it once `ackBytes` of data arrived, a
// stub counting the payload it stands for, an announcing sender counting its own data that became
// stable — and a sender's own message counting as its ack.
import { describe, expect, it } from 'vitest';
import type { Action } from '../../broker/core/actions.js';
import { ViewChannel } from '../../broker/core/channel.js';
import { coreConfigDefault } from '../../broker/core/config.js';
import { FailureDetector } from '../../broker/core/failure-detector.js';
import { Heartbeats, type HeartbeatHost } from '../../broker/core/heartbeats.js';
import { Member } from '../../broker/core/index.js';
import type { DataMessage, PeerMessage } from '../../broker/core/messages.js';

const members = ['a#1', 'b#1', 'c#1'];

function data(sender: string, seq: number, extra: Partial<DataMessage> = {}): DataMessage {
  return { kind: 'data', view: 1, sender, seq, order: 'fifo', safe: false, origin: sender, key: `${sender}/${seq}`, originSeq: seq, payload: seq, ...extra };
}

describe('Member, acknowledgements at the end of a turn (ackTicks 0)', () => {
  /** a founds and b joins, both at a new tick; `relay` hands what one sent to the other, and returns it. */
  function joined(ackBytes: number, sizeOf: (payload: unknown) => number, ackRoundsPerTick = 1) {
    const config = { ackTicks: 0, ackBytes, ackRoundsPerTick, heartbeatTicks: 1000 };
    const a = new Member({ id: 'a#1', config, sizeOf });
    const b = new Member({ id: 'b#1', config, sizeOf });
    a.found();
    b.join(['a#1']);
    const relay = (from: Member, to: Member): Array<Extract<Action, { kind: 'send' }>> => {
      const sent = from.drain().filter((x): x is Extract<Action, { kind: 'send' }> => x.kind === 'send' && x.to === to.id);
      for (const x of sent) to.receive(from.id, x.message as never);
      return sent;
    };
    relay(b, a);
    a.tick();
    a.drain();
    a.stateReady(null);
    relay(a, b);
    b.drain();
    b.tick(); // a new tick: nothing acknowledged in it yet
    a.tick();
    return { a, b, relay };
  }

  /** b acknowledges at the end of each turn, at once for `ackBytes` of data. */
  function pair(ackBytes: number, ackRoundsPerTick = 1): { turn: () => boolean; tick: () => void; own: () => boolean } {
    const { a, b } = joined(ackBytes, () => 60, ackRoundsPerTick);
    a.drain();
    /** a multicasts one message, b receives it in a turn of its own: did b acknowledge it in that turn? */
    const turn = (): boolean => {
      a.multicast('x', { order: 'fifo' });
      for (const x of a.drain()) if (x.kind === 'send' && x.to === 'b#1') b.receive('a#1', x.message as never);
      const sent = b.drain().filter((x) => x.kind === 'send' && x.to === 'a#1');
      return sent.some((x) => JSON.stringify((x as { message: unknown }).message).includes('"hb"'));
    };
    /** A new tick at both, with nothing owed: whatever a tick sends is dropped. */
    const tick = (): void => {
      b.tick();
      a.tick();
      b.drain();
      a.drain();
    };
    /** b multicasts in a turn of its own, receiving nothing: did it send a round? */
    const own = (): boolean => {
      b.multicast('y', { order: 'fifo' });
      return b.drain().some((x) => x.kind === 'send' && x.to === 'a#1' && JSON.stringify((x as { message: unknown }).message).includes('"hb"'));
    };
    return { turn, tick, own };
  }

  it('acknowledges once a tick, and again within the tick once ackBytes of data arrived', () => {
    const { turn } = pair(100);
    expect(turn()).toBe(true); // the first round of the tick
    expect(turn()).toBe(false); // 60 bytes since
    expect(turn()).toBe(true); // 120 bytes since
    expect(turn()).toBe(false);
  });

  it('sends the first ackRoundsPerTick rounds of a tick at the end of their turns, then waits for ackBytes or the next tick', () => {
    const { turn, tick } = pair(Infinity, 3);
    expect([turn(), turn(), turn(), turn(), turn()]).toEqual([true, true, true, false, false]);
    tick(); // the next tick sends what the last two turns owed: the first round of that tick
    expect([turn(), turn(), turn()]).toEqual([true, true, false]);
    const bytes = pair(100, 2);
    expect([bytes.turn(), bytes.turn(), bytes.turn(), bytes.turn(), bytes.turn()]).toEqual([true, true, false, true, false]);
  });

  it('spends no round past the first on a turn that only multicast: its own data is its ack already', () => {
    const { turn, own } = pair(Infinity, 3);
    expect([own(), own(), own()]).toEqual([true, false, false]); // the tick's first round, as always
    expect([turn(), turn(), turn()]).toEqual([true, true, false]); // the others' data still gets two
  });

  it('acknowledges once a tick without ackBytes', () => {
    const { turn } = pair(Infinity);
    expect([turn(), turn(), turn(), turn()]).toEqual([true, false, false, false]);
  });

  it('counts the payload a stub stands for: a member outside the audience acknowledges bulk data elsewhere as promptly', () => {
    /** b sequences stream 1 and a is outside its audience: a gets a stub of each of its own abcasts. */
    const stubTurns = (ackBytes: number): boolean[] => {
      const { a, b, relay } = joined(ackBytes, (payload) => (payload === null ? 0 : 60));
      const acked: boolean[] = [];
      for (let i = 0; i < 5; i++) {
        a.multicast('x', { order: 'total', safe: true, elide: true, stream: 1 });
        relay(a, b);
        const [stub] = relay(b, a).filter((x) => JSON.stringify(x.message).includes('"stub":true'));
        expect(JSON.stringify(stub?.message)).toContain('"size":60');
        acked.push(relay(a, b).some((x) => JSON.stringify(x.message).includes('"hb"')));
      }
      return acked;
    };
    expect(stubTurns(100)).toEqual([true, false, true, false, true]);
    expect(stubTurns(Infinity)).toEqual([true, false, false, false, false]);
  });

  /**
   * A member `me` of `members` that announces its stability (views above ackAllMax) over a real
   * channel: it multicasts, the others' acks arrive, and what it sends is recorded.
   */
  function announcer(members: string[], me: string, ackBytes: number, ackRoundsPerTick = 1) {
    const config = { ...coreConfigDefault, ackTicks: 0, ackBytes, ackAllMax: 4, ackRoundsPerTick };
    const channel = new ViewChannel(members, me, (payload) => (payload === null ? 0 : 60));
    const sent: Array<{ to: string; message: PeerMessage }> = [];
    const host = {
      id: me,
      now: 1,
      config,
      view: { id: 1, members, primary: true },
      channel,
      participant: { frozenAcks: undefined, wantsFlush: false },
      detector: new FailureDetector(config.suspectTicks),
      coordinator: { wanted: false, participants: undefined },
      coordinatorOf: () => members[0]!,
      outgoing: { unsequenced: () => [] },
      send: (to: string, message: PeerMessage) => sent.push({ to, message }),
    } satisfies HeartbeatHost;
    const hb = new Heartbeats(host);
    let last = 0;
    return {
      host,
      hb,
      send: () => channel.receive(data(me, ++last)),
      /** `from` acknowledges this member's messages up to `upTo`. */
      ack: (from: string, upTo: number) => hb.onHeartbeat(from, { kind: 'hb', view: 1, acks: members.map((x) => (x === me ? upTo : 0)) }),
      /** The stability each member was told since the last call (undefined: none told). */
      told: (): Map<string, number | undefined> => {
        const told = new Map<string, number | undefined>();
        for (const x of sent.splice(0)) if (x.message.kind === 'hb') told.set(x.to, x.message.stable);
        return told;
      },
    };
  }

  it('announces stability as promptly as it acknowledges: once a tick, and again once ackBytes of its own data became stable', () => {
    // Five members: above ackAllMax, the others acknowledge to the sender only and wait for its
    // announcement to deliver safely.
    const five = ['a#1', 'b#1', 'c#1', 'd#1', 'e#1'];
    const rounds = (ackBytes: number, ackRoundsPerTick = 1): boolean[] => {
      const a = announcer(five, 'a#1', ackBytes, ackRoundsPerTick);
      const out: boolean[] = [];
      for (let seq = 1; seq <= 5; seq++) {
        a.send();
        for (const m of five.slice(1)) a.ack(m, seq);
        a.hb.endOfTurn();
        out.push([...a.told().values()].includes(seq));
      }
      return out;
    };
    expect(rounds(100)).toEqual([true, false, true, false, true]);
    expect(rounds(Infinity)).toEqual([true, false, false, false, false]);
    // More rounds a tick only where every member acknowledges to all: here a round is an
    // announcement to every member, and more of them cost more than they save.
    expect(rounds(Infinity, 3)).toEqual([true, false, false, false, false]);
  });

  it('counts each byte that became stable once, when it became stable — not when sent, not again for acks that repeat', () => {
    const five = ['a#1', 'b#1', 'c#1', 'd#1', 'e#1'];
    const a = announcer(five, 'a#1', 150);
    const turn = (): number | undefined => {
      a.hb.endOfTurn();
      return a.told().get('b#1');
    };
    a.send();
    for (const m of five.slice(1)) a.ack(m, 1);
    expect(turn()).toBe(1); // the tick's first round
    a.send();
    a.send();
    a.send(); // 180 bytes sent, none stable yet
    expect(turn()).toBeUndefined();
    for (const m of five.slice(1, 4)) a.ack(m, 4); // three of four: nothing stable
    expect(turn()).toBeUndefined();
    a.ack('e#1', 2); // 60 bytes stable
    a.ack('e#1', 2); // the same ack again
    expect(turn()).toBeUndefined();
    a.ack('e#1', 3); // 120
    expect(turn()).toBeUndefined();
    a.ack('e#1', 4); // 180: announced
    expect(turn()).toBe(4);
  });

  it("sends a pending announcement to all with a star's periodic heartbeat, which reaches only the coordinator", () => {
    const ten = Array.from({ length: 10 }, (_, i) => `m${i}#1`);
    const a = announcer(ten, 'm5#1', Infinity);
    const others = ten.filter((m) => m !== 'm5#1');
    a.send();
    for (const m of others) a.ack(m, 1);
    a.hb.endOfTurn();
    expect([...a.told().values()].filter((s) => s === 1)).toHaveLength(9);
    a.send();
    for (const m of others) a.ack(m, 2);
    a.hb.endOfTurn(); // not again within the tick
    expect(a.told().size).toBe(0);
    (a.host as { now: number }).now = 1 + coreConfigDefault.heartbeatTicks;
    for (const m of others) a.host.detector.heard(m, a.host.now); // the coordinator is not lost
    a.hb.tick();
    const told = a.told();
    expect(others.every((m) => told.get(m) === 2)).toBe(true);
  });

  it("counts a sender's own message as its ack: stable once the other members acknowledged it", () => {
    const ch = new ViewChannel(members, 'a#1');
    for (let seq = 1; seq <= 3; seq++) ch.receive(data('b#1', seq));
    ch.onAcks('c#1', [0, 3, 0]);
    expect(ch.stableOf('b#1')).toBe(3);
  });
});
