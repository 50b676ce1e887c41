/**
 * The coordinator's side of a view change (the participant's side is in
 * participant.ts). One round at a time: collect every participant's report,
 * send one final (what to deliver in the old view), wait until all hold it,
 * then deliver it here (the others do at the install: participant.ts
 * `commit`), deliver the gbcasts, fetch the state for joiners and install.
 *
 * Why the targets are the maximum received per sender: a participant that
 * received seq k of sender s also received 1…k, and a message is freed only
 * once every member has it and it was delivered — so for every k up to the
 * maximum, some participant still holds it or everyone already delivered it.
 * A dead sender's messages past the maximum reached no survivor: orphans.
 *
 * A participant that already holds an earlier coordinator's final reports it
 * as `prepared`; such a final is adopted unchanged (participant.ts, scenario 1),
 * because it may have been committed and delivered, which cannot be taken back —
 * which one, if several, and with whom: final-choice.ts.
 */
import type { Action } from './actions.js';
import type { CoreConfig } from './config.js';
import type { MemberId, MessageKey, ViewRecord } from './log.js';
import type { DataMessage, FlushDone, FlushFinal, FlushStart, FlushState, Install, OrderRequest, PeerMessage } from './messages.js';
import { isPrimarySuccessor } from './view.js';
import { chooseFinal, unionOf } from './final-choice.js';

/** What the coordinator needs of its member. */
export interface CoordinatorHost {
  readonly id: MemberId;
  readonly config: CoreConfig;
  readonly now: number;
  readonly view: ViewRecord | undefined;
  readonly leaving: ReadonlySet<MemberId>;
  /** The suspicion marks: replaced incarnations, members forced out, complainers, members cut off. */
  readonly detector: { readonly replaced: ReadonlySet<MemberId>; readonly forcedOut: Set<MemberId>; readonly complainers: Set<MemberId>; readonly cutOff: ReadonlySet<MemberId>; forgiveCuts(): void; deaf(now: number, ticks?: number): boolean };
  readonly pendingJoins: ReadonlySet<MemberId>;
  readonly groupRequests: ReadonlyMap<MessageKey, OrderRequest>;
  /** Keys of abcasts and gbcasts already delivered here. */
  readonly deliverer: { readonly keys: { has(key: MessageKey): boolean } };
  readonly nonPrimary: boolean;
  readonly frozen: boolean;
  attemptLast: number;
  isSuspected(member: MemberId): boolean;
  send(to: MemberId, message: PeerMessage): void;
  emit(action: Action): void;
  block(): void;
  becomeNonPrimary(): void;
  readonly participant: { readonly prepared: { final: FlushFinal; coordinator: MemberId } | undefined; onFlushStart(from: MemberId, start: FlushStart): void; onFinal(from: MemberId, final: FlushFinal): void; commit(final: FlushFinal): void };
  deliverGroup(requests: readonly OrderRequest[]): void;
  installView(next: ViewRecord): void;
  stop(reason: 'excluded' | 'left'): void;
  /** Where each origin's abcast order stands (handed to joiners). */
  readonly lanes: { snapshot(): Array<[string, number]> };
  /** Each stream's audience (handed to joiners). */
  readonly audiences: { snapshot(): Array<[number, MemberId[]]> };
}

interface Round {
  attempt: number;
  participants: MemberId[];
  phase: 'collect' | 'final' | 'state';
  states: Map<MemberId, FlushState>;
  done: Set<MemberId>;
  final?: FlushFinal;
  sentAt: number;
  /** When the phase began, and how often its message went again to those that had not answered. */
  phaseAt: number;
  resends: number;
}

/**
 * A participant that has not answered a phase after this many sends of its message (and a
 * suspicion timeout) is left out of the next attempt. Time alone is not enough: on a lossy
 * network a live member can miss three sends in a row (the simulator found such runs at 2 %
 * loss), and leaving it out excludes it, with the copies it holds. The participant also sends
 * its answer again on its own (participant.ts), so a phase fails only if every one of several
 * round trips from both ends is lost.
 */
const phaseSendsMax = 5;

interface LastInstall {
  next: ViewRecord;
  groupKeys: MessageKey[];
  joiners: MemberId[];
  lanes: Array<[string, number]>;
  audiences: Array<[number, MemberId[]]>;
  state?: { value: unknown };
  resentAt: Map<MemberId, number>;
}

export class FlushCoordinator {
  /** A member asked for a flush (it is frozen and has no coordinator). */
  wanted = false;
  private round: Round | undefined;
  private lastFailedAt = -Infinity;
  private lastInstall: LastInstall | undefined;

  constructor(private readonly host: CoordinatorHost) {}

  get inRound(): boolean {
    return this.round !== undefined;
  }

  /**
   * The members of the round in progress, if any. Only links between them can stall it: one to a
   * member the round already leaves out (a broker back from a pause, say) must not cost a
   * participant its place (failure-detector.ts, cut links).
   */
  get participants(): readonly MemberId[] | undefined {
    return this.round?.participants;
  }

  /** For diagnostics: the round in progress, in a few words. */
  describe(): string {
    const r = this.round;
    if (r === undefined) return 'no round';
    return `round a${r.attempt} ${r.phase} participants=[${r.participants.join(',')}] states=[${[...r.states.keys()].join(',')}] done=[${[...r.done].join(',')}]`;
  }

  /** Called every tick while this member is the coordinator. */
  tick(): void {
    const h = this.host;
    const view = h.view;
    if (view === undefined) return;
    // Cut off from everyone (or just back from a stop, not having heard anyone yet): who seems
    // silent tells nothing, and a round could not run anyway. Decide once someone is heard —
    // unless this member alone would still be a primary successor (the older of two, whose peer
    // died): then, deaf for a whole suspicion timeout, it goes on alone, as it must.
    const round = this.round;
    if (view.members.length > 1 && h.detector.deaf(h.now)) {
      const alone = isPrimarySuccessor(view.members, [h.id]) && h.detector.deaf(h.now, h.config.suspectTicks);
      if (!alone) {
        // Its phase clock stops too: the fresh window after the gap covers the round's answers.
        if (round !== undefined) (round.phaseAt = h.now), (round.resends = 0);
        return;
      }
    }
    if (round !== undefined) {
      if (round.participants.some((p) => h.isSuspected(p))) return this.start();
      // A round that does not finish is started again, without the participants that never
      // answered it after a suspicion timeout and `phaseSendsMax` sends (they are alive to the
      // failure detector, yet take no part).
      if (round.phase !== 'state' && h.now - round.phaseAt > h.config.suspectTicks && round.resends + 1 >= phaseSendsMax) {
        const answered = round.phase === 'collect' ? round.states : round.done;
        for (const p of round.participants) if (p !== h.id && !answered.has(p)) h.detector.forcedOut.add(p);
        return this.start();
      }
      if (h.now - round.sentAt < h.config.retransmitTicks) return;
      round.sentAt = h.now;
      round.resends++;
      if (round.phase === 'collect') {
        const start = this.startMessage(round);
        for (const p of round.participants) if (p !== h.id && !round.states.has(p)) h.send(p, start);
      } else if (round.phase === 'final') {
        for (const p of round.participants) if (p !== h.id && !round.done.has(p)) h.send(p, round.final!);
      }
      return;
    }
    const needed =
      this.wanted ||
      h.nonPrimary ||
      h.frozen ||
      h.leaving.size > 0 ||
      h.pendingJoins.size > 0 ||
      h.groupRequests.size > 0 ||
      view.members.some((m) => h.isSuspected(m));
    if (needed && h.now - this.lastFailedAt >= h.config.retryTicks) this.start();
  }

  /** Stops coordinating (someone older took over, or a view was installed). */
  abandon(): void {
    this.round = undefined;
    // The install of a view this member has left behind is sent no more: its snapshot goes.
    if (this.lastInstall !== undefined && this.lastInstall.next.id !== this.host.view?.id) this.lastInstall = undefined;
  }

  onState(from: MemberId, state: FlushState): void {
    const round = this.round;
    if (round?.phase !== 'collect' || state.attempt !== round.attempt || !round.participants.includes(from)) return;
    round.states.set(from, state);
    if (round.states.size === round.participants.length) this.sendFinal(round);
  }

  onDone(from: MemberId, done: FlushDone): void {
    const round = this.round;
    if (round?.phase !== 'final' || done.attempt !== round.attempt || !round.participants.includes(from)) return;
    round.done.add(from);
    if (round.done.size < round.participants.length) return;
    const final = round.final!;
    // Every participant holds the final now: this coordinator delivers its own copy (participant.ts `commit`).
    this.host.participant.commit(final);
    this.host.deliverGroup(final.group);
    if (this.joinersOf(final.next).length > 0) {
      round.phase = 'state';
      this.host.emit({ kind: 'get-state' });
    } else {
      this.install(round, undefined);
    }
  }

  stateReady(value: unknown): void {
    const round = this.round;
    if (round?.phase === 'state') this.install(round, { value });
  }

  /** A joiner spoke from the new view: it has its install, and the snapshot kept for it can go. */
  joinerArrived(member: MemberId): void {
    const last = this.lastInstall;
    if (last === undefined || !last.joiners.includes(member)) return;
    last.joiners = last.joiners.filter((j) => j !== member);
    if (last.joiners.length === 0) delete last.state;
  }

  /** A member of the current view is still behind it (lost install): send it again, at most once a retransmit period. */
  resendInstall(to: MemberId): void {
    const h = this.host;
    const last = this.lastInstall;
    if (last === undefined || last.next.id !== h.view?.id || !last.next.members.includes(to)) return;
    if (h.now - (last.resentAt.get(to) ?? -Infinity) < h.config.retransmitTicks) return;
    last.resentAt.set(to, h.now);
    h.send(to, this.installMessage(last, to));
  }

  // ---- the round ---------------------------------------------------------------

  private start(): void {
    const h = this.host;
    const view = h.view!;
    let participants = view.members.filter((m) => !h.isSuspected(m));
    if (!isPrimarySuccessor(view.members, participants) && (h.detector.forcedOut.size > 0 || h.detector.complainers.size > 0 || h.detector.cutOff.size > 0)) {
      // Members set aside for not answering, for complaining or for a cut link are needed for a
      // primary: give them another chance rather than give up the primary (two survivors of a
      // stall that each suspected the other for a moment must find each other again).
      h.detector.forcedOut.clear();
      h.detector.complainers.clear();
      h.detector.forgiveCuts();
      participants = view.members.filter((m) => !h.isSuspected(m));
    }
    // Worth a round only if some choice could be safe (final-choice.ts): participants enough for a
    // primary successor — counting, when this member holds a final, the coordinator that sent it
    // (not when deciding to forgive above: the more members take part, the likelier a safe choice).
    const sender = h.participant.prepared?.coordinator;
    if (!isPrimarySuccessor(view.members, sender === undefined ? participants : [...participants, sender])) {
      this.round = undefined;
      this.lastFailedAt = h.now;
      h.becomeNonPrimary();
      return;
    }
    this.wanted = false;
    const round: Round = { attempt: ++h.attemptLast, participants, phase: 'collect', states: new Map(), done: new Set(), sentAt: h.now, phaseAt: h.now, resends: 0 };
    this.round = round;
    h.block();
    const start = this.startMessage(round);
    for (const p of participants) if (p !== h.id) h.send(p, start);
    h.participant.onFlushStart(h.id, start);
  }

  private startMessage(round: Round): FlushStart {
    return { kind: 'flush-start', view: this.host.view!.id, attempt: round.attempt, participants: round.participants };
  }

  private sendFinal(round: Round): void {
    const h = this.host;
    const view = h.view!;
    const states = [...round.states.values()];
    // The next view: this round's survivors and joiners, under an id no earlier round can have
    // given to other members (a prepared, never installed view keeps its id to itself).
    let next: ViewRecord;
    let targets: Record<MemberId, number>;
    let group: OrderRequest[];
    let stubbed: string[] | undefined;
    const choice = chooseFinal(view, h.id, round.participants.map((p) => ({ member: p, state: round.states.get(p)! })));
    if (choice === undefined) {
      // No choice has a primary successor of the view behind it: no primary here, for now.
      this.round = undefined;
      this.lastFailedAt = h.now;
      h.becomeNonPrimary();
      return;
    }
    if (choice === 'step-down') {
      // This coordinator holds (or delivered) what the only safe choices exclude.
      this.round = undefined;
      h.stop('excluded');
      return;
    }
    const chosen = choice.final;
    round.participants = choice.participants;
    if (chosen !== undefined) {
      // What was delivered cannot be taken back, and the view it led to may already be installed
      // somewhere: the adopted final goes on as it is — its targets, its gbcasts and its next view.
      ({ targets, group, next } = chosen);
      // Its stubs as they were (none is none): never recomputed from this round's holdings.
      stubbed = chosen.stubbed ?? [];
    } else {
      // The next view: the survivors and joiners, under an id above every id any participant
      // has seen proposed, so no two views ever share an id.
      const id = Math.max(view.id, ...states.map((st) => st.maxViewSeen)) + 1;
      const survivors = this.survivors(view.members, round.participants);
      // At most as many joiners as survivors at once: were they all to die right after, the
      // survivors would still hold half of the new view with its oldest member — a primary.
      const joiners = [...h.pendingJoins].filter((j) => !view.members.includes(j)).sort().slice(0, survivors.length);
      next = { id, members: [...survivors, ...joiners], primary: true };
      targets = {};
      for (const s of view.members) targets[s] = Math.max(0, ...states.map((st) => st.received[s] ?? 0));
      group = this.groupOf(states);
      // Leavers take part to the end (their messages are flushed) and are told they are done.
    }
    const union = unionOf(states, targets, stubbed ?? []);
    stubbed ??= union.filter((m) => m.stub === true).map((m) => `${m.sender}/${m.seq}`);
    const final: FlushFinal = { kind: 'flush-final', view: view.id, attempt: round.attempt, targets, union, group, next };
    if (stubbed.length > 0) final.stubbed = stubbed;
    round.final = final;
    round.phase = 'final';
    round.sentAt = h.now;
    round.phaseAt = h.now;
    round.resends = 0;
    // This coordinator takes its own final before anyone else may: whoever holds it names this
    // coordinator as a holder too (`preparedBy`, counted by final-choice.ts), so that must be true. Its
    // participant refuses it if, since reporting, it took an older coordinator's final (it heard
    // that one again, had reported to its round, and holds one cut at most): then the round ends
    // here, and nothing is sent. Sent first, the refused final was held by the others, who named
    // this coordinator a holder of it — a false majority that installed a second view of one id.
    h.participant.onFinal(h.id, final);
    if (this.round !== round) return; // a round of one: committed and installed already
    const held = h.participant.prepared;
    if (held === undefined || held.coordinator !== h.id || held.final.attempt !== final.attempt) {
      this.round = undefined;
      this.lastFailedAt = h.now;
      return;
    }
    for (const p of round.participants) if (p !== h.id) h.send(p, final);
  }

  /** gbcasts to deliver at this change: every pending request, once, each origin's in its own order. */
  private groupOf(states: FlushState[]): OrderRequest[] {
    const h = this.host;
    const all = new Map<MessageKey, OrderRequest>(h.groupRequests);
    for (const st of states) for (const r of st.groupRequests) all.set(r.key, r);
    return [...all.values()]
      .filter((r) => !h.deliverer.keys.has(r.key))
      .sort((a, b) => (a.origin === b.origin ? a.originSeq - b.originSeq : a.origin < b.origin ? -1 : 1));
  }

  /**
   * The participants that stay: leavers and replaced incarnations go, but only
   * as many at once as keeps a majority of the view (the primary-partition
   * rule holds for graceful leaves too); the rest go in the next change.
   */
  private survivors(members: readonly MemberId[], participants: readonly MemberId[]): MemberId[] {
    const h = this.host;
    const stay = members.filter((m) => participants.includes(m));
    const going = stay.filter((m) => h.leaving.has(m) || h.detector.replaced.has(m) || h.detector.forcedOut.has(m));
    let next = stay.filter((m) => !going.includes(m));
    while (going.length > 0 && !isPrimarySuccessor(members, next)) {
      // Keep the oldest of those going for now: it can tip an exact half.
      const keep = going.shift()!;
      next = members.filter((m) => next.includes(m) || m === keep);
    }
    return next;
  }

  private joinersOf(next: ViewRecord): MemberId[] {
    const current = this.host.view!.members;
    return next.members.filter((m) => !current.includes(m));
  }

  private install(round: Round, state: { value: unknown } | undefined): void {
    const h = this.host;
    const final = round.final!;
    const last: LastInstall = { next: final.next, groupKeys: final.group.map((g) => g.key), joiners: this.joinersOf(final.next), lanes: h.lanes.snapshot(), audiences: h.audiences.snapshot(), resentAt: new Map() };
    if (state !== undefined) last.state = state;
    for (const m of final.next.members) {
      if (m === h.id) continue;
      // A member of the old view that took no part in the round (an adopted final lists it) gets
      // the final with its install, to take it if it still can (participant.ts `onInstall`); later,
      // every member of the new view sends it again with the install (`resendInstall` there).
      const late = h.view!.members.includes(m) && !round.participants.includes(m);
      h.send(m, late ? { ...this.installMessage(last, m), final } : this.installMessage(last, m));
    }
    for (const p of round.participants) if (!final.next.members.includes(p)) h.send(p, { kind: 'leave-done', view: h.view!.id });
    this.lastInstall = last;
    this.round = undefined;
    // An adopted final (scenario 1) may be one that dropped this very member.
    if (final.next.members.includes(h.id)) h.installView(final.next);
    else h.stop('excluded');
  }

  private installMessage(last: LastInstall, to: MemberId): Install {
    const base = { kind: 'install' as const, view: last.next.id - 1, next: last.next, groupKeys: last.groupKeys };
    if (!last.joiners.includes(to)) return base;
    const joiner = { ...base, lanes: last.lanes, audiences: last.audiences };
    return last.state !== undefined ? { ...joiner, state: last.state } : joiner;
  }
}
