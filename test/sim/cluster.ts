/**
 * A simulated cluster: members of the core group over SimNetwork, in virtual
 * time. It performs each member's actions (sends into the network, state
 * snapshots for joiners), records every member's log for the checker, and
 * offers the operations scenarios and random runs use: start, crash, pause,
 * restart with a new incarnation, leave, multicast, partition, heal.
 */
import { Member, type CoreConfig, type LogEntry, type MemberId, type MemberOptions, type MulticastOptions } from '../../broker/core/index.js';
import { DigestApp, type AppSnapshot } from './app.js';
import { SimNetwork, type FaultKnobs, type Partition } from './network.js';

export interface SimMember {
  name: string;
  incarnation: number;
  member: Member;
  alive: boolean;
  /** Ticks left in a pause (no ticks, no receipts; messages wait). */
  pausedUntil: number;
  /** The cluster tick at which this member last ticked: a paused process catches up on resuming. */
  tickedAt: number;
  /** The application: a digest of what was delivered, handed to joiners by state transfer (app.ts). */
  app: DigestApp;
  stopped?: 'excluded' | 'left';
}

export class SimCluster {
  readonly network: SimNetwork;
  readonly logs = new Map<MemberId, LogEntry[]>();
  readonly members = new Map<string, SimMember>();
  now = 0;
  /** When each member installed each view, and when members blocked for a flush (for the scale figures). */
  readonly installedAt: Array<{ member: MemberId; view: number; tick: number }> = [];
  readonly blockedAt: number[] = [];
  /** Flush finals each member (by name) has sent as a coordinator, one per destination. */
  readonly finalsSent = new Map<string, number>();
  private readonly held: Array<{ to: string; from: string; message: unknown }> = [];

  constructor(
    readonly random: () => number,
    knobs: FaultKnobs,
    readonly config: Partial<CoreConfig> = {},
    /** Where abcast streams are sequenced (the core's default when absent). */
    readonly sequencerOf?: MemberOptions['sequencerOf'],
  ) {
    this.network = new SimNetwork(random, knobs, (id) => id.split('#')[0]!);
  }

  /** Starts member `name` (a new incarnation if it ran before); the first one founds the group. */
  start(name: string, found: boolean): SimMember {
    const previous = this.members.get(name);
    const incarnation = (previous?.incarnation ?? 0) + 1;
    const id = `${name}#${incarnation}`;
    const log: LogEntry[] = [];
    this.logs.set(id, log);
    const member = new Member({
      id,
      config: this.config,
      ...(this.sequencerOf === undefined ? {} : { sequencerOf: this.sequencerOf }),
      onLog: (e) => {
        log.push(e);
        if (e.kind === 'install') this.installedAt.push({ member: id, view: e.view.id, tick: this.now });
      },
    });
    const sim: SimMember = { name, incarnation, member, alive: true, pausedUntil: 0, tickedAt: this.now, app: new DigestApp() };
    this.members.set(name, sim);
    if (found) {
      // A group founded again continues above every view id seen so far.
      let maxId = 0;
      for (const entries of this.logs.values()) for (const e of entries) if (e.kind === 'install') maxId = Math.max(maxId, e.view.id);
      member.found(maxId + 1);
    }
    else member.join(this.contacts(id));
    this.perform(sim);
    return sim;
  }

  crash(name: string): void {
    const sim = this.members.get(name);
    if (sim === undefined || !sim.alive) return;
    sim.alive = false;
    this.logs.get(sim.member.id)!.push({ kind: 'crash', member: sim.member.id });
  }

  pause(name: string, ticks: number): void {
    const sim = this.members.get(name);
    if (sim?.alive === true) sim.pausedUntil = this.now + ticks;
  }

  leave(name: string): void {
    const sim = this.members.get(name);
    if (sim?.alive !== true) return;
    sim.member.leave();
    this.perform(sim);
  }

  multicast(name: string, payload: unknown, options: MulticastOptions): void {
    const sim = this.members.get(name);
    if (sim?.alive !== true || sim.member.status !== 'member' || this.now < sim.pausedUntil) return;
    sim.member.multicast(payload, options);
    this.perform(sim);
  }

  set partition(p: Partition) {
    this.network.partition = p;
  }

  /** One tick of virtual time: deliver what is due, then tick every running member. */
  step(): void {
    this.now++;
    // A process that was paused runs its timers first when it resumes (as Node does, and as the
    // mesh's runtime does by catching up on ticks): it notices the time that passed before it
    // reads what arrived meanwhile.
    for (const sim of this.running()) {
      while (sim.tickedAt < this.now - 1) {
        sim.tickedAt++;
        sim.member.tick();
      }
      this.perform(sim);
    }
    const waiting = this.held.splice(0);
    for (const h of waiting) this.deliverTo(h.to, h.from, h.message);
    for (const m of this.network.due(this.now)) this.deliverTo(m.to, m.from, m.message);
    for (const sim of this.running()) {
      sim.tickedAt = this.now;
      sim.member.tick();
      this.perform(sim);
    }
  }

  /** Members whose process runs now (alive, not paused, not stopped). */
  running(): SimMember[] {
    return [...this.members.values()].filter((s) => s.alive && s.stopped === undefined && this.now >= s.pausedUntil);
  }

  /** Live, unstopped members (paused ones included). */
  live(): SimMember[] {
    return [...this.members.values()].filter((s) => s.alive && s.stopped === undefined);
  }

  /** Every running member is a member of one view of `size` members, not frozen. */
  inOneView(size: number): boolean {
    const running = this.running();
    const v = running.find((s) => s.member.status === 'member')?.member.view;
    return v !== undefined && v.members.length === size && running.every((s) => s.member.status === 'member' && s.member.view?.id === v.id && !s.member.frozen);
  }

  private deliverTo(to: string, from: string, message: unknown): void {
    const sim = this.members.get(to.split('#')[0]!);
    // A bare name is an address (a contact a joiner was given): whichever incarnation runs there.
    const addressed = to.includes('#') ? to : sim?.member.id;
    if (sim === undefined || !sim.alive || sim.member.id !== addressed || sim.stopped !== undefined) return;
    if (this.now < sim.pausedUntil) {
      this.held.push({ to, from, message });
      return;
    }
    sim.member.receive(from, message as never);
    this.perform(sim);
  }

  private perform(sim: SimMember): void {
    // Every action, in order, until none is left: stateReady (and what it triggers: the install, and
    // any delivery right after it) produces more.
    for (let actions = sim.member.drain(); actions.length > 0; actions = sim.member.drain()) {
      for (const action of actions) this.performOne(sim, action);
    }
  }

  private performOne(sim: SimMember, action: ReturnType<Member['drain']>[number]): void {
    switch (action.kind) {
      case 'send':
        for (const item of action.message.kind === 'batch' ? action.message.items : [action.message]) {
          if (item.kind === 'flush-final') this.finalsSent.set(sim.name, (this.finalsSent.get(sim.name) ?? 0) + 1);
        }
        this.network.send(this.now, sim.member.id, action.to, action.message);
        break;
      case 'deliver':
        sim.app.deliver(action.delivery);
        break;
      case 'view':
        sim.app.installed();
        this.logs.get(sim.member.id)!.push({ kind: 'state', member: sim.member.id, view: action.view.id, at: 'install', digest: sim.app.digest() });
        break;
      case 'block':
        this.blockedAt.push(this.now);
        break;
      case 'get-state':
        if (sim.member.status !== 'stopped') sim.member.stateReady(sim.app.snapshot());
        break;
      case 'set-state':
        sim.app.restore(action.state as AppSnapshot);
        break;
      case 'stopped':
        sim.stopped = action.reason;
        break;
      default:
        break;
    }
  }

  /** The end of a run: every live member's state digest, for S3. */
  logFinalStates(): void {
    for (const sim of this.live()) {
      const view = sim.member.view;
      if (sim.member.status !== 'member' || view === undefined) continue;
      this.logs.get(sim.member.id)!.push({ kind: 'state', member: sim.member.id, view: view.id, at: 'end', digest: sim.app.digest() });
    }
  }

  /** Contacts are addresses (names), as a seed list is: they reach whatever incarnation runs there. */
  private contacts(self: string): string[] {
    const name = self.split('#')[0];
    return [...this.members.keys()].filter((n) => n !== name);
  }
}
