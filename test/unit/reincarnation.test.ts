// A broker excluded from the group starts again as a new incarnation (broker/node/node.ts). The
// old member's last messages must not leave under the new id (the node hands them on first; the
// links then drop them with the old identity): a chaos run found a participant
// that took one for a member behind its view and resent its own install, bare, and the joiner took
// that as its join install — no lanes, no state — and then sequenced nobody's abcasts but its own.
// Two nodes wired by hand (no I/O), and the core member alone for the joiner's side.
import { describe, expect, it } from 'vitest';
import { Member, type PeerMessage } from '../../broker/core/index.js';
import { BrokerNode, type NodeAction } from '../../broker/node/index.js';
import { topicLimitsDefault } from '../../broker/topics/index.js';

function node(name: string): BrokerNode {
  let incarnation = 0;
  const deferred: Array<() => void> = [];
  return new BrokerNode({
    newId: () => `${name}#${++incarnation}`,
    lwg: { lwgCount: 8, replicas: 2 },
    topics: { limits: topicLimitsDefault, payloadBytesMax: 64 * 1024, presenceInfoBytesMax: 1024, topicBytesMax: 255, subscriptionsMax: 100 },
    now: () => 0,
    defer: (fn) => deferred.push(fn),
  });
}

/** Ticks both nodes and passes what they send to each other, until `done` (bounded). */
function run(a: BrokerNode, b: BrokerNode, done: () => boolean): void {
  for (let i = 0; i < 2_000 && !done(); i++) {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      from.tick();
      for (const action of from.drain()) if (action.kind === 'send' && to.id === action.to) to.receive(from.id, action.message);
    }
  }
  expect(done()).toBe(true);
}

const view = (message: unknown): number => (message as PeerMessage).view;

/** b0 founds a group and b2 joins it: both members of one view. */
function twoInOneView(): [BrokerNode, BrokerNode] {
  const b0 = node('b0');
  const b2 = node('b2');
  b0.found();
  b2.join(['b0#1']);
  run(b0, b2, () => b2.member.status === 'member' && b0.view?.members.length === 2);
  return [b0, b2];
}

describe('a broker excluded and starting again', () => {
  it("sends the old member's last messages before it becomes the new incarnation, never under the new id", () => {
    const [b0, b2] = twoInOneView();
    const old = b2.id;
    // A few ticks of heartbeats waiting in the old member's outbox, then the news of its exclusion.
    for (let i = 0; i < 30; i++) b2.tick();
    b2.receive('b0#1', { kind: 'excluded', view: b2.view!.id + 1 });
    const actions: NodeAction[] = b2.drain();
    const switched = actions.findIndex((a) => a.kind === 'incarnation');
    expect(switched).toBeGreaterThan(0);
    expect(b2.id).not.toBe(old);
    const before = actions.slice(0, switched).filter((a) => a.kind === 'send');
    const after = actions.slice(switched + 1).filter((a) => a.kind === 'send');
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((a) => view(a.message) >= 1)).toBe(true);
    // The new incarnation only asks to join.
    expect(after.map((a) => (a.message as PeerMessage).kind)).toEqual(after.map(() => 'join'));
    expect(after.every((a) => view(a.message) === 0)).toBe(true);
  });
});

describe('a joining member', () => {
  it("takes only the coordinator's install for joiners, not a member's bare resend of its own", () => {
    const member = new Member({ id: 'b2#2' });
    member.join(['b0#1']);
    member.drain();
    const next = { id: 5, members: ['b0#1', 'b1#1', 'b2#2'], primary: true };
    member.receive('b1#1', { kind: 'install', view: 4, next });
    expect(member.status).toBe('joining');
    expect(member.view).toBeUndefined();
    member.receive('b0#1', { kind: 'install', view: 4, next, groupKeys: [], lanes: [['b1#1|3', 7]], audiences: [], state: { value: null } });
    expect(member.status).toBe('member');
    expect(member.view?.id).toBe(5);
  });
});

describe('a member id that left a view', () => {
  it('is answered excluded when a late join of it arrives, not put in a view again; a joiner told so starts again', () => {
    const [b0, b2] = twoInOneView();
    const gone = b2.id;
    // b2 falls silent (paused): b0 goes on alone (the older of two may).
    for (let i = 0; i < 2_000 && b0.view!.members.length > 1; i++) (b0.tick(), b0.drain());
    expect(b0.view!.members).toEqual(['b0#1']);
    const viewId = b0.view!.id;
    // Its join arrives late (sent before the pause, or forwarded by a stalled member).
    b0.receive(gone, { kind: 'join', view: 0, joiner: gone });
    const answer = b0.drain().filter((a) => a.kind === 'send');
    expect(answer.map((a) => [a.to, (a.message as PeerMessage).kind])).toEqual([[gone, 'excluded']]);
    for (let i = 0; i < 300; i++) (b0.tick(), b0.drain());
    expect(b0.view!.id).toBe(viewId);
    expect(b0.member.pendingJoins.size).toBe(0);
    // A joining member told so stops, and its runtime starts it again under a new id.
    const joiner = new Member({ id: 'b3#1' });
    joiner.join(['b0#1']);
    joiner.receive('b0#1', { kind: 'excluded', view: viewId });
    expect(joiner.status).toBe('stopped');
  });
});
