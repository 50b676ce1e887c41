/**
 * The seeds CI runs (test/sim/sim.test.ts), in one place so that the mutation script
 * (scripts/core-mutations.mjs) runs exactly the same list.
 */
import type { RunOptions } from './run.js';
import type { WholeOptions } from './whole/run.js';

/**
 * The fixed list CI runs: 680 runs over four group sizes (one on a lossy network only, one harsher,
 * one with every view heartbeating in a star as views larger than `heartbeatAllMax` do, two with
 * streams taken over within views, one whose members never give up their incarnation on a timer,
 * as in the mesh).
 */
export const suites: Array<{ members: number; seeds: number; faults: boolean; harsh?: boolean; star?: boolean; moves?: boolean; giveUp?: false }> = [
  { members: 5, seeds: 60, faults: true, harsh: true },
  { members: 5, seeds: 250, faults: true },
  { members: 5, seeds: 60, faults: true, star: true },
  { members: 3, seeds: 50, faults: true },
  { members: 7, seeds: 25, faults: true },
  { members: 4, seeds: 15, faults: false },
  { members: 5, seeds: 80, faults: true, moves: true },
  { members: 4, seeds: 40, faults: true, harsh: true, moves: true },
  { members: 5, seeds: 100, faults: true, giveUp: false },
];

/**
 * Seeds that once failed, with what they caught; kept so the bug stays fixed. Those found before
 * the product's mix and swarm knobs replay in the classic mix (`classic: true`, `--classic`), the
 * runs they were found in, draw for draw; `classic: false` marks one found in today's mix.
 */
export const regressions: Array<{ seed: number; members: number; harsh?: boolean; classic?: false; giveUp?: false; caught: string }> = [
  { seed: 2, members: 5, caught: 'a causal vector timestamp counted own delivered, not own sent, messages (D5)' },
  { seed: 21, members: 5, caught: 'an adopted final kept a next view listing members that never delivered it (liveness)' },
  { seed: 24, members: 5, caught: 'acks kept moving while frozen, so a safe message became stable past an adopted cut (O5)' },
  { seed: 50, members: 5, caught: 'a member following an abandoned round refused the real coordinator’s final (liveness)' },
  { seed: 73, members: 5, caught: 'an adopting round went on with a minority that could move on (M4)' },
  { seed: 168, members: 5, caught: 'a member left alone in a dead view was never told it was excluded (liveness)' },
  { seed: 170, members: 5, caught: 'a group lost entirely was never founded again (liveness)' },
  { seed: 17, members: 7, caught: 'when every member was leaving, two of them coordinated (liveness)' },
  // A1 false positives: the only members holding an elided payload were cut off and excluded after one
  // of them delivered it; the survivors' flush could relay only stubs (non-uniform, as D3 excuses).
  { seed: 564, members: 5, caught: 'A1 compared an audience member excluded from the view it delivered the payload in with the survivors' },
  { seed: 1147, members: 5, caught: 'A1 compared an audience member excluded from the view it delivered the payload in with the survivors' },
  { seed: 457, members: 5, harsh: true, caught: 'A1 compared the excluded sequencer-origin, which delivered its own payload, with the survivors' },
  { seed: 815, members: 5, harsh: true, caught: 'A1 compared an isolated, excluded origin that delivered its own payload with the survivors' },
  { seed: 89, members: 7, caught: 'A1 compared an excluded origin that delivered its own payload with the survivors of a split' },
  { seed: 1465, members: 5, caught: 'A1 compared the excluded sequencer, which delivered the payload, with the origin that got a stub' },
  { seed: 1474, members: 5, caught: 'A1 compared an isolated, excluded sequencer that delivered the payload with the survivors' },
  {
    seed: 103,
    members: 5,
    harsh: true,
    classic: false,
    caught: 'A1: a member took a late payload copy after reporting its flush state and delivered it, while the union carried a stub (finals now carry their stub decisions)',
  },
  {
    seed: 304,
    members: 5,
    classic: false,
    giveUp: false,
    caught: 'an adopted final listed two members cut off from its round, who stopped on its install; the two left could never again be a primary (liveness, M6)',
  },
  { seed: 49211, members: 5, classic: false, giveUp: false, caught: 'a member left in a view of two whose other member left for good waited for ever, never told the group went on (liveness, M6)' },
  { seed: 49390, members: 5, classic: false, giveUp: false, caught: 'the survivor of a view of two whose oldest member crashed waited for ever (liveness, M6)' },
  { seed: 49063, members: 5, classic: false, giveUp: false, caught: 'the same, holding its own final for a view of itself alone, which no one else could have installed (liveness, M6)' },
];


/** Every run CI makes, regressions first (they fail fastest on a reintroduced bug). */
export function ciRuns(): RunOptions[] {
  const runs: RunOptions[] = regressions.map(({ seed, members, harsh, classic, giveUp }) => ({ seed, members, harsh: harsh === true, classic: classic !== false, ...(giveUp === false ? { giveUp } : {}) }));
  for (const suite of suites) {
    for (let seed = 1; seed <= suite.seeds; seed++) runs.push({ seed, members: suite.members, faults: suite.faults, harsh: suite.harsh === true, star: suite.star === true, moves: suite.moves === true, ...(suite.giveUp === false ? { giveUp: false } : {}) });
  }
  return runs;
}

/**
 * Seeds the checker fails on the current core: real core bugs found by the new predicates, not yet
 * fixed (the fix is outside the checker's side). CI expects them to fail (`it.fails`), so that the
 * fix turns them red and they move into `regressions`. Not in `ciRuns` (the mutation script needs a
 * list the unmutated core passes).
 */
export const knownFailures: Array<{ seed: number; members: number; harsh?: boolean; caught: string }> = [
  {
    seed: 92140,
    members: 5,
    caught: 'A1: a round adopts a final whose cut holds an elided message its own participants hold only as stubs (the payload was with the old round, not with them); the adopted final stubs nothing, so an audience member that lacked the message takes the union\'s stub, while the sequencer delivered the payload before the flush; found by a review on 2026-12-04, failing since before that day',
  },
];

/** Whole-broker seeds that once failed, with what they caught (test/sim/whole.test.ts runs them first). */
export const wholeRegressions: Array<{ seed: number; brokers: number; harsh?: boolean; star?: boolean; batching?: boolean; cutOwners?: boolean; caught: string }> = [
  { seed: 289, brokers: 5, caught: 'a broker reporting a cut link to a broker back from a pause (not in the round) was taken for the broken end and excluded; the group it shared with the paused one was lost' },
  { seed: 1315, brokers: 5, caught: 'a round gave up on a live participant after two lost finals (2 % loss) and excluded it' },
  { seed: 1423, brokers: 5, caught: 'a round gave up on a live participant after two lost round trips and excluded it' },
  { seed: 2088, brokers: 5, caught: 'a round gave up on a live participant after two lost round trips and excluded it' },
  { seed: 7307, brokers: 5, caught: 'four lost round trips of one collect phase excluded a live participant (now it answers again on its own)' },
  { seed: 1447, brokers: 7, caught: 'a coordinator back from 49 ticks cut off from everyone judged silence at once and excluded three live members; two owners of a group among them' },
  { seed: 17, brokers: 5, harsh: true, caught: 'under 5 % loss a round excluded participants that had not answered within the suspicion timeout' },
  { seed: 51, brokers: 5, harsh: true, caught: 'under 5 % loss a round excluded participants that had not answered within the suspicion timeout' },
  { seed: 15, brokers: 5, harsh: true, star: true, batching: true, caught: 'star: a cut link reported before the third resend could be answered excluded a live owner (review)' },
  { seed: 171, brokers: 5, harsh: true, star: true, batching: true, caught: 'star: a cut link reported before the third resend could be answered excluded a live owner (review)' },
  { seed: 8, brokers: 5, harsh: true, star: true, batching: true, caught: 'star: a heartbeat sent during an install blamed the new sequencer for requests still addressed to the old one' },
  { seed: 21, brokers: 5, harsh: true, batching: true, cutOwners: true, caught: 'waiting group: a copy replaced under subscribers fed them the new copy before their sessions closed (now muted at once)' },
  { seed: 168, brokers: 5, cutOwners: true, caught: 'waiting group: a holder let go after answering a publish its owners, cut off, never delivered; the wait did not wait for its copy' },
  // The same bug; seed 168 no longer reaches it since acks travel sooner (ackBytes, a sender's own ack): this one does.
  { seed: 166, brokers: 5, harsh: true, batching: true, cutOwners: true, caught: 'waiting group: a ready copy let go in the last view was not waited for (the mutation runner\'s case, found again after the ack changes)' },
  // Again after stubs and announcements counted towards a prompt ack (2026-12-03): 166 no longer reaches it; 700 more seeds found these.
  { seed: 720, brokers: 5, harsh: true, batching: true, cutOwners: true, caught: 'waiting group: a ready copy let go in the last view was not waited for (T1; the mutation runner\'s case after the ack changes of 2026-12-03)' },
  { seed: 805, brokers: 5, harsh: true, batching: true, cutOwners: true, caught: 'waiting group: a ready copy let go in the last view was not waited for (T1; as seed 720)' },
  { seed: 823, brokers: 5, harsh: true, batching: true, cutOwners: true, caught: 'waiting group: a ready copy let go in the last view was not waited for (T1; found again after flush finals began to wait for every participant, when 720 and 805 stopped reaching the case)' },
  { seed: 829, brokers: 5, harsh: true, batching: true, cutOwners: true, caught: 'waiting group: a ready copy let go in the last view was not waited for (T1; as seed 823)' },
  { seed: 122, brokers: 5, cutOwners: true, caught: 'waiting group: subscribers of a topic not created yet (seq 0) were not told their copy was taken back' },
  { seed: 138, brokers: 5, cutOwners: true, caught: 'waiting group: a survivor taking its own released copy kept its newer publish ids, and did not resync its own subscribers' },
];

/**
 * The `runWhole` options of one run of a `wholeSuites` entry (at `seed`) or of a `wholeRegressions`
 * one (at its own seed): what CI's test and the mutation runner run alike.
 */
export function wholeRun(entry: Omit<WholeOptions, 'seed'> & { seed?: number; seeds?: number; caught?: string }, seed = entry.seed ?? 1): WholeOptions {
  const { seeds: _seeds, caught: _caught, ...flags } = entry;
  return { ...flags, seed };
}

/** The whole-broker runs CI makes (test/sim/whole.test.ts; the mutation script runs them too): 1,080 in all. */
export const wholeSuites: Array<{ brokers: number; seeds: number; star?: boolean; replicas?: number; leaves?: boolean; batching?: boolean; cutOwners?: boolean; moves?: boolean; claims?: boolean; ackRounds?: number }> = [
  { brokers: 5, seeds: 250 },
  { brokers: 3, seeds: 100 },
  { brokers: 7, seeds: 50 },
  // Every view heartbeating in a star, as views of more than 8 brokers do: it found a vouch that
  // revived a dead coordinator, a member deaf to everyone once its coordinator died, and a lost
  // message taken for a cut link — each cost a group its last copy.
  { brokers: 5, seeds: 100, star: true },
  // Graceful leaves (SIGTERM), two close together with three owners a group: the case of a chaos
  // run that once lost a topic's state (not reproduced here in 750 seeds).
  { brokers: 5, seeds: 100, replicas: 3, leaves: true },
  // A tick's client requests performed together, publishers sometimes publishing a few at once:
  // commands to one group travel as one batch (broker/node/mesh-stream.ts).
  { brokers: 5, seeds: 100, batching: true },
  // The same over three brokers with acks as the mesh sends them there: a turn with others' data
  // sends a round while fewer than 5 went in its tick (views of at most four acknowledge to all).
  { brokers: 3, seeds: 80, batching: true, ackRounds: 5 },
  // Partitions that cut off every owner of a group at once: the group waits for their copies and
  // comes back to the longest (docs/mesh.md, "Waiting groups"); before, it started again empty.
  { brokers: 5, seeds: 100, cutOwners: true },
  // Brokers taking a group's stream over as soon as they publish most of it (broker/node/takeover-policy.ts),
  // so that take-overs meet the faults and the flush.
  { brokers: 5, seeds: 100, batching: true, moves: true },
  // Brokers claiming the groups whose traffic is mostly theirs (broker/node/claim-policy.ts), soon,
  // so that owners move — and copies are handed over — between view changes too.
  { brokers: 5, seeds: 100, batching: true, claims: true },
];
