// The checker's own test: hand-made one-line mutations of broker/core, each a bug the simulator's
// checker must catch. For each mutation the simulator (test/sim/mutation-runner.ts: CI's seed list,
// test/sim/seeds.ts) is bundled with esbuild with that one source file altered in the bundle only —
// the working tree is never written, so nothing needs restoring, even after a crash or Ctrl-C — and
// run until the first failing seed. First the unmutated core must pass the whole list (else every
// "catch" would prove nothing). Prints a table; exits non-zero if any mutation is missed.
//   node scripts/core-mutations.mjs [--only NAME-SUBSTRING]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

/** file (from the repository root), the exact original text (once in the file), its replacement, the bug. */
const mutations = [
  {
    name: 'a joiner installs the view before its state is set',
    file: 'broker/core/joins.ts',
    original: `    if (m.state !== undefined) h.emit({ kind: 'set-state', state: m.state.value });
    for (const key of m.groupKeys ?? []) h.deliverer.keys.add(key);
    h.lanes.restore(m.lanes);
    h.audiences.restore(m.audiences ?? []);
    h.becomeMember(m.next);`,
    replacement: `    for (const key of m.groupKeys ?? []) h.deliverer.keys.add(key);
    h.lanes.restore(m.lanes);
    h.audiences.restore(m.audiences ?? []);
    h.becomeMember(m.next);
    if (m.state !== undefined) h.emit({ kind: 'set-state', state: m.state.value });`,
  },
  {
    name: 'the old sequencer goes on sequencing a stream it handed over',
    file: 'broker/core/data-path.ts',
    original: '      if (takeovers.sequenced(request)) return;',
    replacement: '      takeovers.sequenced(request);',
  },
  {
    name: 'a sequencer that handed a stream over never sequences it again when it comes back',
    file: 'broker/core/takeovers.ts',
    original: '    this.handedOff.delete(stream);',
    replacement: '    void stream;',
  },
  {
    name: 'a new sequencer counts a stream from 1 again',
    file: 'broker/core/sequencer.ts',
    original: '    this.positions.set(stream, position);',
    replacement: '    void position;',
  },
  {
    name: 'the new sequencer\'s messages are delivered before the take-over',
    file: 'broker/core/ordering.ts',
    original: "if (m.order === 'total') return m.stream === undefined || this.sequencerOf === undefined || this.sequencerOf(m.stream) === m.sender;",
    replacement: "if (m.order === 'total') return true;",
  },
  {
    name: 'the audience stamp is off by one',
    file: 'broker/core/audience.ts',
    original: 'if (audience !== undefined) members.forEach((m, i) => audience.has(m) && stamp.push(i));',
    replacement: 'if (audience !== undefined) members.forEach((m, i) => audience.has(m) && stamp.push(i + 1));',
  },
  {
    name: 'a safe message is delivered one message before it is stable',
    file: 'broker/core/ordering.ts',
    original: 'if (m.safe && !ignoreStability && stableOf(m.sender) < m.seq) return false;',
    replacement: 'if (m.safe && !ignoreStability && stableOf(m.sender) < m.seq - 1) return false;',
  },
  {
    name: 'retransmission skips the oldest unacknowledged message',
    file: 'broker/core/channel.ts',
    original: 'for (let seq = acked + 1; seq <= this.seqLast && budget > 0; seq++) {',
    replacement: 'for (let seq = acked + 2; seq <= this.seqLast && budget > 0; seq++) {',
  },
  {
    name: 'a sender announces its stability one message ahead',
    file: 'broker/core/heartbeats.ts',
    original: 'if (stable > 0) hb.stable = stable;',
    replacement: 'if (stable > 0) hb.stable = stable + 1;',
  },
  {
    name: 'the last command of a batch is never delivered',
    file: 'broker/node/mesh-stream.ts',
    original: 'commands.forEach((command, i) => this.replicas?.deliver({ ...delivery, key: commandKey(delivery.key, i), payload: { command } }));',
    replacement: 'commands.forEach((command, i) => i < commands.length - 1 && this.replicas?.deliver({ ...delivery, key: commandKey(delivery.key, i), payload: { command } }));',
  },
  {
    name: 'a stub of an own batch leaves its first command unanswered',
    file: 'broker/node/mesh-stream.ts',
    original: 'for (let i = 0; i < own; i++) this.replicas?.deliver({ ...delivery, key: commandKey(delivery.key, i) });',
    replacement: 'for (let i = 1; i < own; i++) this.replicas?.deliver({ ...delivery, key: commandKey(delivery.key, i) });',
  },
  {
    name: 'star heartbeats: members the coordinator does not vouch for are not asked directly',
    file: 'broker/core/heartbeats.ts',
    original: 'this.direct = hb.suspects ?? [];',
    replacement: 'this.direct = [];',
  },
  {
    name: 'star heartbeats: an abcast its sequencer never sequenced goes unreported',
    file: 'broker/core/heartbeats.ts',
    original: 'for (const m of h.outgoing.unsequenced(h.config.suspectTicks))',
    replacement: 'for (const m of h.outgoing.unsequenced(h.config.suspectTicks * 1000))',
  },
  {
    name: 'star heartbeats: the coordinator vouches for nobody',
    file: 'broker/core/failure-detector.ts',
    original: 'for (const m of members) if (m !== self && suspects?.includes(m) !== true && this.lastHeard.has(m) && !this.silentTooLong(m, now))',
    replacement: 'for (const m of members) if (now < 0 && m !== self && suspects?.includes(m) !== true && this.lastHeard.has(m) && !this.silentTooLong(m, now))',
  },
  {
    name: 'star heartbeats: a member that lost its coordinator does not ask everyone',
    file: 'broker/core/failure-detector.ts',
    original: 'return now - (this.lastHeard.get(coordinator) ?? -Infinity) > this.suspectTicks / 4;',
    replacement: 'return false && now > 0;',
  },
  {
    name: "a sender's message counts as every member's ack of it (stability claimed at receipt)",
    file: 'broker/core/channel.ts',
    original: `      const own = this.acks.get(message.sender)!;
      if ((own.get(message.sender) ?? 0) < message.seq) own.set(message.sender, message.seq);`,
    replacement: `      for (const own of this.acks.values()) if ((own.get(message.sender) ?? 0) < message.seq) own.set(message.sender, message.seq);`,
  },
  {
    name: 'star heartbeats: a link that stopped acknowledging goes unreported',
    file: 'broker/core/heartbeats.ts',
    original: 'for (const m of h.channel.stalled(h.now, h.config.suspectTicks, h.config.retransmitTicks))',
    replacement: 'for (const m of h.channel.stalled(h.now, h.config.suspectTicks * 1000, h.config.retransmitTicks))',
  },
  {
    name: 'a member outside the audience is handed the payload (no stub on delivery)',
    file: 'broker/core/data-path.ts',
    original: 'if (m.audience !== undefined && !m.audience.includes(h.view!.members.indexOf(h.id))) m = stubOf(m);',
    replacement: 'if (m.audience !== undefined && m.audience.includes(h.view!.members.indexOf(h.id))) m = stubOf(m);',
  },
  {
    name: 'a causal message waits for one too few of another member’s messages',
    file: 'broker/core/ordering.ts',
    original: 'if (member === m.origin ? count !== have + 1 : count > have) return false;',
    replacement: 'if (member === m.origin ? count !== have + 1 : count > have + 1) return false;',
  },
  {
    name: 'a flush participant skips the first message of the final’s union',
    file: 'broker/core/participant.ts',
    original: 'for (const message of final.union) for (const ready of h.channel.receive(message)) h.ordering.push(ready);',
    replacement: 'for (const message of final.union.slice(1)) for (const ready of h.channel.receive(message)) h.ordering.push(ready);',
  },
  {
    name: 'a coordinator delivers its final as it sends it, before every participant holds it',
    file: 'broker/core/flush.ts',
    original: '    h.participant.onFinal(h.id, final);\n',
    replacement: '    h.participant.onFinal(h.id, final);\n    h.participant.commit(final);\n',
  },
  {
    name: 'a participant other than the coordinator delivers a final as it arrives',
    file: 'broker/core/participant.ts',
    original: '      this.prepared = { final, coordinator: from };\n',
    replacement: '      this.prepared = { final, coordinator: from };\n      if (from !== h.id) this.commit(final);\n',
  },
  {
    name: 'a leaver told it is done stops without delivering the final it holds',
    file: 'broker/core/participant.ts',
    original: '    if (this.prepared !== undefined && view === this.host.view?.id) this.commit(this.prepared.final);\n',
    replacement: '',
  },
  {
    name: 'a leaver whose leave-done was lost takes the install of the view it left but not its cut',
    file: 'broker/core/participant.ts',
    original: '    this.commit(final);\n    this.host.stop(\'left\');\n',
    replacement: '    this.host.stop(\'left\');\n',
  },
  {
    name: 'a flush adopts a held final (or a new cut) without a primary successor that will hold it',
    file: 'broker/core/final-choice.ts',
    original: 'if (!isPrimarySuccessor(view.members, [...holders])) continue;',
    replacement: 'if (holders.size === 0) continue;',
  },
  {
    name: 'a flush tries only the newest held final, and the attempts of two coordinators tie',
    file: 'broker/core/final-choice.ts',
    original: 'for (const final of [...finals, undefined]) {',
    replacement: 'for (const final of [finals[0]]) {',
  },
  {
    name: 'a held final counts as held only by those moving on to its next view',
    file: 'broker/core/final-choice.ts',
    original: 'const holders = new Set(able.map((r) => r.member));',
    replacement: 'const holders = new Set(able.map((r) => r.member).filter((p) => final === undefined || final.next.members.includes(p)));',
  },
  {
    name: 'the coordinator that sent a held final is not counted among its holders',
    file: 'broker/core/final-choice.ts',
    original: 'for (const { state } of able) if (holds(state) && state.preparedBy !== undefined) holders.add(state.preparedBy);',
    replacement: 'void able;',
  },
  {
    name: 'a coordinator holding a final starts no round without a majority of participants',
    file: 'broker/core/flush.ts',
    original: 'if (!isPrimarySuccessor(view.members, sender === undefined ? participants : [...participants, sender])) {',
    replacement: 'if (!isPrimarySuccessor(view.members, participants)) {',
  },
  {
    name: 'a coordinator sends its final though its own participant refused it',
    file: 'broker/core/flush.ts',
    original: 'if (held === undefined || held.coordinator !== h.id || held.final.attempt !== final.attempt) {',
    replacement: 'if (held === undefined) {',
  },
  {
    name: 'a member listed in an adopted final it never held stops on its install, though it could take the final',
    file: 'broker/core/participant.ts',
    original: 'const final = this.preparedById.get(m.next.id) ?? this.takeLate(m);',
    replacement: 'const final = this.preparedById.get(m.next.id);',
  },
  {
    name: 'a late member takes a final whose union has a stub of a message in its audience',
    file: 'broker/core/participant.ts',
    original: "if (message.stub === true && !stubbed.has(`${message.sender}/${message.seq}`) && (message.origin === h.id || message.audience?.includes(me) === true)) return undefined;",
    replacement: '',
  },
  {
    name: 'a member outside the primary waits for ever in a view whose replaced members leave no primary',
    file: 'broker/core/member.ts',
    original: 'this.now - this.nonPrimarySince > this.config.isolatedTicksMax || lost()',
    replacement: 'this.now - this.nonPrimarySince > this.config.isolatedTicksMax',
  },
  {
    name: 'a view change drops the origin’s abcasts not yet delivered',
    file: 'broker/core/outgoing.ts',
    original: '    this.causalSent = 0;\n    for (const p of this.pending.values()) {',
    replacement: '    this.causalSent = 0;\n    for (const p of this.pending.values()) if (p.request.order === \'total\') this.pending.delete(p.request.key);\n    for (const p of this.pending.values()) {',
  },
  {
    name: 'a member delivers an audience change but never applies it',
    file: 'broker/core/audience.ts',
    original: 'if (m.audienceChange !== undefined && m.stream !== undefined) change(this.committed, m.stream, m.origin, m.audienceChange);',
    replacement: 'if (m.audienceChange === \'add\' && m.stream !== undefined) change(this.committed, m.stream, m.origin, m.audienceChange);',
  },
  {
    name: 'a joiner drops the state its install carries',
    file: 'broker/core/joins.ts',
    original: "if (m.state !== undefined) h.emit({ kind: 'set-state', state: m.state.value });",
    replacement: '// (state dropped)',
  },
  // The broker above the core (broker/node): caught by the whole-broker runs.
  {
    name: 'a load replays a buffered command the snapshot already holds',
    file: 'broker/node/replica-load.ts',
    original: 'after: this.buffer.slice(at) }',
    replacement: 'after: this.buffer.slice(Math.max(0, at - 1)) }',
  },
  {
    name: 'a subscriber is served from a copy that is still loading',
    file: 'broker/node/kept.ts',
    original: "if (h?.phase === 'loading') return false;",
    replacement: "if (h?.phase === 'loading') return true;",
  },
  {
    name: 'a publish is answered before it is stable',
    file: 'broker/node/mesh-stream.ts',
    original: "{ order: 'total', safe: true, elide: true,",
    replacement: "{ order: 'total', safe: false, elide: true,",
  },
  // Waiting groups (docs/mesh.md): the whole-broker suite with every owner of a group cut off.
  {
    name: 'a group whose every ready copy left starts again at once, without waiting',
    file: 'lightweight-groups/table.ts',
    original: `        g.wait = { id: ++g.waits, at: g.pos, last: g.last, awaiting: [...new Set([...gone, ...g.released].map(brokerName))], offers: [] };
        waiting.push(lwg);`,
    replacement: `        for (const b of g.holders) g.ready.add(b);`,
  },
  {
    name: 'a holder whose copy is not ready acknowledges its own client',
    file: 'broker/node/replicas.ts',
    original: 'if (d.origin === me && this.table.isReady(this.lwgOf(command.topic), me)) this.host.answer(d.key, result);',
    replacement: 'if (d.origin === me) this.host.answer(d.key, result);',
  },
  {
    name: 'a ready copy let go in the last view is not waited for',
    file: 'lightweight-groups/table.ts',
    original: 'awaiting: [...new Set([...gone, ...g.released].map(brokerName))]',
    replacement: 'awaiting: [...new Set([...gone].map(brokerName))]',
  },
  {
    name: 'a copy that comes back behind keeps its epochs',
    file: 'broker/node/group-waits.ts',
    original: 'const snapshot = !s.behind ? copy.snapshot :',
    replacement: 'const snapshot = true ? copy.snapshot :',
  },
];

const root = resolve(import.meta.dirname, '..');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const dir = mkdtempSync(join(tmpdir(), 'chorus-mutations-'));

/** Bundles the runner with `mutation` applied in the bundle (or none) and runs it; returns its verdict. */
async function run(mutation) {
  const target = mutation === undefined ? undefined : resolve(root, mutation.file);
  const plugins = [];
  if (target !== undefined) {
    const source = readFileSync(target, 'utf8');
    const count = source.split(mutation.original).length - 1;
    if (count !== 1) throw new Error(`mutation "${mutation.name}": its original text occurs ${count} times in ${mutation.file} (the source moved on: update the mutation)`);
    const mutated = source.replace(mutation.original, () => mutation.replacement);
    plugins.push({
      name: 'mutate',
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, (args) => (resolve(args.path) === target ? { contents: mutated, loader: 'ts' } : undefined));
      },
    });
  }
  const out = join(dir, 'runner.mjs');
  await build({ entryPoints: [join(root, 'test/sim/mutation-runner.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error', plugins });
  const started = Date.now();
  const child = spawnSync(process.execPath, [out], { encoding: 'utf8', timeout: 10 * 60_000, maxBuffer: 64 << 20 });
  const seconds = (Date.now() - started) / 1000;
  if (child.error !== undefined || child.status !== 0) {
    // A hang or a crash of the runner fails CI too, but it is not the checker catching the bug.
    const why = child.error?.message ?? `exit ${child.status}: ${(child.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
    return { caught: false, broken: why, seconds };
  }
  const last = child.stdout.trim().split('\n').at(-1);
  return { ...JSON.parse(last), seconds };
}

const rows = [];
let exitCode = 0;
try {
  const chosen = mutations.filter((m) => only === undefined || m.name.includes(only));
  const baseline = await run(undefined);
  console.log(`unmutated core: ${baseline.caught ? `FAILS at seed ${baseline.seed} (${baseline.property}: ${baseline.message})` : `passes all ${baseline.runs} runs`} (${baseline.seconds.toFixed(1)} s)`);
  if (baseline.caught || baseline.broken !== undefined) {
    console.log('the unmutated core must pass CI’s seed list first: nothing below would mean anything');
    exitCode = 2;
  } else {
    for (const m of chosen) {
      const r = await run(m);
      const caughtBy = r.caught && r.property !== 'THROWS';
      if (!caughtBy) exitCode = 1;
      const what = r.scenario !== undefined ? `scenario "${r.scenario}"` : r.race !== undefined ? `race "${r.race}"` : `seed ${r.seed} (${r.members} members${r.harsh ? ', harsh' : ''}${r.classic ? ', classic' : ''}${r.star ? ', star' : ''}${r.moves ? ', moves' : ''}${r.leaves ? ', leaves' : ''}${r.batching ? ', batching' : ''}${r.whole ? ', whole brokers' : ''})`;
      const where = r.caught ? `${r.property} at ${what}; run ${r.runs} of ${r.of}` : r.broken ?? `all ${r.runs} runs passed`;
      rows.push({ name: m.name, file: m.file, verdict: caughtBy ? 'caught' : r.property === 'THROWS' ? 'threw' : 'MISSED', where, seconds: r.seconds });
      console.log(`${caughtBy ? 'caught' : 'MISSED'}  ${m.name} — ${where}`);
    }
    console.log('\n| mutation | file | verdict | first failure |\n|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.name} | ${r.file} | ${r.verdict} | ${r.where} |`);
    console.log(`\n${rows.filter((r) => r.verdict === 'caught').length} of ${rows.length} caught`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = exitCode;
