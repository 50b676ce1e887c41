/**
 * The scripted scenarios (scenario.ts): the classic view-change cases, and those of views that
 * heartbeat in a star. Run by test/sim/scenarios.test.ts, and by the mutation script's runner.
 */
import type { CoreConfig } from '../../broker/core/index.js';

export const scenarios: Record<string, string> = {
  'two survivors of a crash that stalled together': `
    start m0 m1 m2
    multicast m1 fifo 5
    crash m0
    pause m1 64
    pause m2 64
    tick 70
    multicast m2 total 5
    await view 2
    expect view m1 m2`,
  'a one-way link into the coordinator': `
    start m0 m1 m2 m3 m4
    one-way m0 m2            # m2 cannot hear the coordinator, which still hears m2
    multicast m1 fifo 20 safe
    multicast m3 total 10
    await view 4             # the group drops m2 while the link stays cut, and goes on
    heal
    await view 5
    expect excluded m2
    expect view m0 m1 m2 m3 m4`,
  'one cut link between two members that are not the coordinator': `
    start m0 m1 m2 m3 m4
    cut m2 m3                # both alive, both heard by everyone else
    multicast m1 total 20 safe
    await view 4             # the coordinator acts on their reports: the younger of the two goes
    heal
    await view 5
    expect excluded m3
    expect view m0 m1 m2 m3 m4`,
  'a bridge partition whose bridge is the coordinator': `
    start m0 m1 m2 m3 m4
    bridge m1,m2 | m3,m4     # only m0 hears both sides
    multicast m1 total 10 safe
    multicast m4 total 10 safe
    await view 3             # the coordinator keeps one side (the older) and goes on
    heal
    await view 5
    expect excluded m3
    expect excluded m4
    expect view m0 m1 m2 m3 m4`,
  'a one-way cut from an origin to its stream’s sequencer (not the coordinator)': `
    start m0 m1 m2 m3 m4
    one-way m3 m1            # the view is [m0 m2 m1 m3 m4]: m1 sequences stream 2, still reaches m3,
    multicast m3 total 10 stream=2   # and never gets m3's requests
    await view 4             # one of the two goes (in a star: m2 reports m1 as not sequencing)
    heal
    await view 5
    expect view m0 m1 m2 m3 m4`,
  'a coordinator that hears nobody: the others stay in the primary': `
    start m0 m1 m2 m3 m4
    tick 20
    deaf m0                  # it still heartbeats everyone, suspecting them all
    tick 400
    expect primary-throughout m1 m2 m3 m4
    heal
    await view 5
    expect view m0 m1 m2 m3 m4`,
  'two members: the younger dies, the older goes on alone and takes it back': `
    start m0 m1
    multicast m0 fifo 5
    crash m1                 # m0 hears nobody now: it must not wait for anyone to decide
    tick 200
    await view 1             # alone (the view of one member: m0)
    restart m1
    await view 2
    expect view m0 m1`,
  'two members: a one-way link into the older one': `
    start m0 m1
    one-way m1 m0            # m0 cannot hear m1, which still hears m0
    multicast m0 fifo 5
    tick 200
    await view 1             # m0 alone; m1, excluded, starts again
    heal
    await view 2
    expect view m0 m1`,
  'the coordinator paused just past the suspicion timeout': `
    start m0 m1 m2 m3 m4
    multicast m1 fifo 5
    tick 10
    pause m0 64
    tick 300
    multicast m2 causal 5
    await view 5
    expect view m0 m1 m2 m3 m4`,
  'joiners that never arrive': `
    start m0 m1 m2
    restart m3
    restart m4
    restart m5
    restart m6
    tick 1
    crash m3
    crash m4
    crash m5
    crash m6
    multicast m1 total 5 safe
    await view 3
    expect view m0 m1 m2`,
  'the sequencer crashes mid-stream': `
    start m0 m1 m2
    multicast m1 total 30
    multicast m2 total 30 safe
    tick 3
    crash m0                 # m0 sequences stream 0
    multicast m2 total 10
    await view 2
    expect view m1 m2`,
  'a coordinator cut off as it sends its final, holding a safe message no one else has': `
    start m0 m1 m2 m3 m4
    bridge m4 | m1,m2,m3     # what m4 sends reaches the coordinator m0 alone
    multicast m4 fifo 1 safe
    tick 10
    crash m4                 # m0 alone holds m4's safe message, not stable: nobody delivered it
    await final m0           # m0's flush cuts at what m0 received: m4's message is in its final …
    isolate m0               # … which is lost in flight: the others move on without m0, and without
    await view 3             # the message (a final delivered as it was sent would break O5 at m0)
    heal
    await view 4
    expect excluded m0
    expect view m0 m1 m2 m3`,
  'a final that reaches one participant before both are cut off': `
    start m0 m1 m2 m3 m4 m5 m6
    bridge m6 | m1,m2,m3,m4,m5   # what m6 sends reaches the coordinator m0 alone
    multicast m6 fifo 1 safe
    tick 10
    crash m6
    await final m0           # m0's final holds m6's safe message …
    partition m0,m1 | m2,m3,m4,m5   # … and reaches m1 alone: m2–m5, a majority, move on without it
    tick 600
    heal
    await view 6
    expect view m0 m1 m2 m3 m4 m5`,
  'a leaver delivers what the others deliver in the view it leaves': `
    start m0 m1 m2 m3 m4
    multicast m1 fifo 5 safe
    tick 2
    leave m4                 # told it is done (leave-done), it delivers the final's cut
    await view 4
    expect view m0 m1 m2 m3
    expect delivered-as m4 m1`,
  'a leaver whose leave-done is lost': `
    start m0 m1 m2 m3 m4
    lose leave-done          # m4 holds the final of its last round, and never hears it was committed
    multicast m1 fifo 5 safe
    tick 2
    leave m4
    await view 4             # m4 learns of the view from its members' install: it delivers the cut
    heal
    tick 50
    expect view m0 m1 m2 m3
    expect delivered-as m4 m1`,
  'a coordinator dies with the only install of a final that leaves two live members out': `
    start m0 m1
    start m2 m3 m4
    partition m0,m2,m3 | m1,m4   # the majority side: m0 leads a round without m1 and m4 …
    await final m0
    lose install
    tick 20                  # … its final is committed, and every install of it is lost
    crash m0                 # m0 dies with the only copy of the view it installed
    heal                     # m2 and m3 hold the final, two of five: with m0, which sent it, a majority
    await view 4
    expect view m1 m2 m3 m4`,
  'a final held by two of five whose next view lost a member': `
    start m0 m1
    start m2 m3 m4
    partition m0,m1,m2 | m3,m4   # m0 leads a round for m0 m1 m2 …
    lose flush-final
    await final m0           # … whose final reaches no one for now: m0 alone holds it
    crash m2                 # m2 dies, and nobody can tell whether it held that final
    heal                     # it may have been committed: m3 and m4 take it too, so that it is safe
    await view 4
    expect view m0 m1 m3 m4`,
  'two finals, each held by two of five, one coordinator dead': `
    start m0 m1
    start m2 m3 m4
    partition m0,m1,m2 | m3,m4   # m0 leads a round for m0 m1 m2 …
    await final m0
    also cut m0 m2           # … whose final reaches m1, not m2
    lose install
    partition m0,m1 | m2,m3,m4   # m2 leads a round with m3 and m4 …
    await final m2
    tick 20                  # … and commits its final; every install of it is lost
    crash m2                 # m3 and m4 hold m2's final (with m2, a majority), m0 and m1 hold m0's
    heal
    await view 4
    expect view m0 m1 m3 m4`,
  'an adopted final lists two members cut off from the round that commits it': `
    start m0 m1
    start m2
    start m3
    leave m0                 # m1 leads a round for [m1 m2 m3], every member taking part …
    await final m1
    partition m0,m1 | m2,m3  # … whose final reaches only m0: m0 and m1, half of four with the oldest,
    tick 200                 # adopt it without m2 and m3, and m1 installs [m1 m2 m3] alone
    heal                     # m2 and m3 take the final with their install, and the view has all three
    await view 3
    expect view m1 m2 m3`,
  'a late member in the audience of a message the adopters hold only as a stub': lateWithElided(['m2'], 'audience {m2, m3}'),
  'a late member holding the payload of a message an adopter in its audience delivers as a stub': lateWithElided(['m4'], 'audience {m3, m4}'),
  'a late member whose install comes again from the new view, its union cut to the sender’s audience': lateWithElided(['m2', 'm0'], 'audience {m0, m2, m3}'),
  'two coordinators whose finals share an attempt': `
    start m0 m1
    start m2 m3 m4
    isolate m0
    await block              # m1 leads a round without m0 …
    also deaf m4             # … which m4, hearing nothing, does not answer: m1 starts again without it
    await final m1           # m1's final (its second attempt) is about to go out …
    lose install
    isolate m1               # … and is lost with m1. m0 is back: its first round waits on m1, its
    await final m0           # second commits a final — of the same attempt as m1's
    tick 20
    crash m0                 # m0 dies with the only install of it
    heal                     # m1, back, holds its own final; m2 m3 m4 hold m0's: m1 must give way
    await view 4
    expect excluded m1
    expect view m1 m2 m3 m4`,
  'the coordinator crashes during a flush': `
    start m0 m1 m2 m3 m4
    multicast m1 fifo 20
    multicast m3 causal 20
    leave m4                 # the coordinator m0 starts a flush …
    await block
    crash m0                 # … and dies in it; m1 takes over
    await view 3
    expect view m1 m2 m3`,
  'a join during a flush': `
    start m0 m1 m2
    multicast m1 total 10
    crash m2
    await block
    restart m2               # a new incarnation asks in while the flush runs
    multicast m0 fifo 10
    await view 3
    expect view m0 m1 m2`,
  'a false suspicion': `
    start m0 m1 m2
    multicast m0 causal 10
    pause m1 90              # longer than the suspicion timeout: m1 is removed though alive
    tick 95
    multicast m1 fifo 5
    await view 3
    expect excluded m1
    expect view m0 m1 m2`,
  'a 2|1 partition and heal': `
    start m0 m1 m2
    multicast m2 fifo 10
    partition m0,m1 | m2
    multicast m0 total 10
    multicast m2 total 10
    tick 200
    heal
    await view 3
    expect non-primary m2
    expect excluded m2
    expect view m0 m1 m2`,
  'a 1|1|1 split': `
    start m0 m1 m2
    multicast m1 fifo 5 safe
    split-all
    tick 5                   # what was already in flight lands
    mark
    multicast m0 fifo 5
    tick 200
    heal
    await view 3
    expect non-primary m0
    expect no-install-since-mark
    expect view m0 m1 m2`,
};

/**
 * Views larger than `heartbeatAllMax` heartbeat in a star (broker/core/heartbeats.ts). There two
 * members that do not send each other anything do not hear each other either: a cut link between
 * them is harmless and goes unseen (every message reaches them through the sequencer or the
 * flush) until one of them sends — then the other leaves its messages unacknowledged, and the
 * sender reports the link. The two scenarios of cut links send across them.
 */
export const starScenarios: Record<string, string> = {
  'one cut link between two members that are not the coordinator': `
    start m0 m1 m2 m3 m4
    cut m2 m3
    multicast m2 fifo 20 safe  # m3 never acknowledges them: m2 reports the link
    await view 4
    heal
    await view 5
    expect excluded m3
    expect view m0 m1 m2 m3 m4`,
  'a bridge partition whose bridge is the coordinator': `
    start m0 m1 m2 m3 m4
    bridge m1,m2 | m3,m4
    multicast m1 fifo 10 safe
    multicast m4 fifo 10 safe
    tick 600                 # m4 goes (most cut links reported); m3 stays once nothing crosses
    heal
    await view 5
    expect excluded m4
    expect view m0 m1 m2 m3 m4`,
  'the coordinator of a star crashes: the survivors stay in the primary': `
    start m0 m1 m2 m3 m4
    multicast m1 total 10 safe
    tick 20
    crash m0                 # it vouched for everyone; its heartbeats stop
    multicast m2 fifo 5
    await view 4
    expect primary-throughout m1 m2 m3 m4
    expect view m1 m2 m3 m4`,
  'a member of a star crashes: the others stay in the primary': `
    start m0 m1 m2 m3 m4
    multicast m3 causal 10
    tick 20
    crash m2
    await view 4
    expect primary-throughout m0 m1 m3 m4
    expect view m0 m1 m3 m4`,
  'a star coordinator and a member crash together': `
    start m0 m1 m2 m3 m4
    multicast m1 total 10 safe
    tick 20
    crash m0
    crash m3
    await view 3
    expect primary-throughout m1 m2 m4
    expect view m1 m2 m4`,
};

/** Every scripted run: each classic case as it is, then every case with every view in a star. */
export function scenarioRuns(): Array<{ name: string; script: string; config: Partial<CoreConfig> }> {
  return [
    ...Object.entries(scenarios).map(([name, script]) => ({ name, script, config: {} })),
    ...Object.entries({ ...scenarios, ...starScenarios }).map(([name, script]) => ({ name: `${name} (star)`, script, config: { heartbeatAllMax: 0 } })),
  ];
}

/**
 * A review's three cases of late members (participant.ts `takeLate`) and elided payloads: the
 * members in `joining` and m3 form stream 3's audience (sequenced at m3); m3's elided message M
 * reaches neither m2 nor m4; m1's round for [m1 m2 m3 m4] sends a final (its union carrying M's
 * payload, from m3) that reaches m0 only; m0, m1 and m4 adopt it without m2 and m3, whose
 * install then comes with the final, its union rebuilt from the adopters (M as a stub). Each
 * delivered M with its payload at one audience member and as a stub at another (A1) before.
 */
function lateWithElided(joining: string[], audience: string): string {
  return `
    start m0 m1
    start m2
    start m3
    start m4
${joining.map((m) => `    multicast ${m} total 1 stream=3 audience=add`).join('\n')}
    multicast m3 total 1 stream=3 audience=add   # ${audience}
    tick 60
    one-way m3 m2                # M, elided, reaches neither m2 nor m4 (m0, m1 get a stub)
    also one-way m3 m4
    multicast m3 total 1 stream=3 elide
    tick 4
    leave m0                     # m1 leads a round of all five; its final F1 (union: M's payload from m3)
    await final m1
    partition m0,m1 | m2,m3      # ... reaches m0 only
    also isolate m4
    also one-way m3 m2
    tick 150                     # the round fails; m1 non-primary
    partition m0,m1,m4 | m2,m3   # m4 (no final, lacking M) joins m0 m1: they adopt F1, install [m1 m2 m3 m4]
    also one-way m3 m2
    tick 30
    one-way m3 m2                # the late m2, m3 hear the install with the final (union from m0 m1 m4: M as a stub)
    tick 100
    heal
    await view 4`;
}
