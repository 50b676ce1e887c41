/**
 * Order properties O1, O3, O4, O5 (PROPERTIES.md); O2 lives in causality.ts. Send order comes from
 * positions in the sender's log, never from the sequence numbers under test, so a core that stamps
 * them wrongly cannot vouch for itself.
 */
import type { MemberId, MessageKey } from '../../../broker/core/log.js';
import { type Run, type SendEntry, type Violation, deliveryPositions, list, missing, violation } from './model.js';

const isFifoLike = (order: SendEntry['order']): boolean => order === 'fifo' || order === 'causal';

/**
 * O1: for fifo and causal messages one sender sent in one view, a receiver of the k-th delivered
 * the (k-1)-th before it. Checking each adjacent pair is enough: the (k-1)-th, delivered, brings
 * in its own predecessor in turn.
 */
export function checkFifo(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const sender of run.members) {
    const streams = new Map<number, MessageKey[]>();
    for (const { entry: s } of sender.sends) {
      if (!isFifoLike(s.order) || run.sends.get(s.msg)?.entry !== s) continue; // first send only
      streams.set(s.view, [...(streams.get(s.view) ?? []), s.msg]);
    }
    for (const q of run.members) {
      const at = deliveryPositions(q);
      for (const [view, sent] of streams) {
        for (let k = 1; k < sent.length; k++) {
          const later = at.get(sent[k]!);
          if (later === undefined) continue;
          const earlier = at.get(sent[k - 1]!);
          if (earlier === undefined || earlier > later) {
            const how = earlier === undefined ? 'never delivered' : 'delivered after it';
            out.push(
              violation('O1', `${q.member} delivered ${sent[k]} but ${how} ${sent[k - 1]}, sent before it by ${sender.member} in view ${view}`),
            );
          }
        }
      }
    }
  }
  return out;
}

/**
 * O1 for abcasts: one origin's abcasts on one stream are delivered in the order it sent them,
 * at every member (across views too: one still pending at a view change is multicast again,
 * before the ones after it). An abcast lost with its crashed origin may be missing; the order of
 * the ones delivered is what must hold.
 */
export function checkAbcastFifo(run: Run): Violation[] {
  const out: Violation[] = [];
  for (const sender of run.members) {
    const lanes = new Map<number, MessageKey[]>();
    for (const { entry: s } of sender.sends) {
      if (s.order !== 'total' || run.sends.get(s.msg)?.entry !== s) continue;
      const stream = s.stream ?? 0;
      lanes.set(stream, [...(lanes.get(stream) ?? []), s.msg]);
    }
    for (const q of run.members) {
      const at = deliveryPositions(q);
      for (const [stream, sent] of lanes) {
        let lastPos = -1;
        let lastMsg: MessageKey | undefined;
        for (const msg of sent) {
          const pos = at.get(msg);
          if (pos === undefined) continue;
          if (pos < lastPos) out.push(violation('O1', `${q.member} delivered ${msg} before ${lastMsg}, which ${sender.member} sent before it on stream ${stream}`));
          lastPos = pos;
          lastMsg = msg;
        }
      }
    }
  }
  return out;
}

/** The total-order deliveries of one member, per stream, in log order. */
function totalSequences(run: Run): Map<string, Map<MemberId, Array<{ msg: MessageKey; view: number; streamPos?: number }>>> {
  const out = new Map<string, Map<MemberId, Array<{ msg: MessageKey; view: number; streamPos?: number }>>>();
  for (const m of run.members) {
    for (const { entry: d } of m.deliveries) {
      if (d.order !== 'total') continue;
      const stream = String(d.stream ?? 'none');
      const byMember = out.get(stream) ?? new Map();
      const seq = byMember.get(m.member) ?? [];
      seq.push({ msg: d.msg, view: d.view, streamPos: d.streamPos });
      byMember.set(m.member, seq);
      out.set(stream, byMember);
    }
  }
  return out;
}

/**
 * O3: per stream, no two members deliver two common messages in different orders (their sequences,
 * cut down to the messages both delivered, are equal); and stream positions rise within a view.
 * As in D3, what a member delivered in the view it then crashed or was excluded from is left out
 * of the comparison: a non-safe abcast it alone received is multicast again in the next view and
 * may land elsewhere in the stream there (non-uniform delivery; `safe` rules it out).
 */
export function checkTotal(run: Run): Violation[] {
  const out: Violation[] = [];
  const lastViewOf = new Map(run.members.filter((m) => m.stopped).map((m) => [m.member, m.installs.at(-1)?.entry.view.id]));
  for (const [stream, byMember] of totalSequences(run)) {
    const members = [...byMember.entries()].map(([member, seq]) => {
      const last = lastViewOf.get(member);
      return [member, last === undefined ? seq : seq.filter((x) => x.view !== last)] as const;
    });
    for (const [member, seq] of members) {
      for (let i = 1; i < seq.length; i++) {
        const a = seq[i - 1]!;
        const b = seq[i]!;
        if (a.view === b.view && a.streamPos !== undefined && b.streamPos !== undefined && b.streamPos <= a.streamPos) {
          out.push(violation('O3', `${member} stream ${stream} view ${b.view}: ${b.msg} at position ${b.streamPos} after ${a.msg} at ${a.streamPos}`));
        }
      }
    }
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        const [p, pSeq] = members[i]!;
        const [q, qSeq] = members[j]!;
        const inQ = new Set(qSeq.map((x) => x.msg));
        const pCommon = pSeq.map((x) => x.msg).filter((x) => inQ.has(x));
        const inP = new Set(pCommon);
        const qCommon = qSeq.map((x) => x.msg).filter((x) => inP.has(x));
        const k = pCommon.findIndex((x, n) => x !== qCommon[n]);
        if (k >= 0) {
          out.push(violation('O3', `stream ${stream}: ${p} delivered ${pCommon[k]} before ${qCommon[k]}, ${q} the other way round`));
        }
      }
    }
  }
  return out;
}

/**
 * O4: members that deliver a gbcast g deliver it in the same view, after the same set of that
 * view's messages. The set after g then follows from D4 for members that leave the view together.
 */
export function checkGroup(run: Run): Violation[] {
  const out: Violation[] = [];
  const groups = [...run.sends.values()].filter((s) => s.entry.order === 'group').map((s) => s.entry.msg);
  for (const g of groups) {
    let reference: { member: MemberId; view: number; before: Set<MessageKey> } | undefined;
    for (const m of run.members) {
      const d = m.deliveries.find((x) => x.entry.msg === g);
      if (d === undefined) continue;
      const before = new Set(m.deliveries.filter((x) => x.pos < d.pos && x.entry.view === d.entry.view).map((x) => x.entry.msg));
      if (reference === undefined) {
        reference = { member: m.member, view: d.entry.view, before };
      } else if (reference.view !== d.entry.view) {
        out.push(violation('O4', `gbcast ${g}: ${reference.member} delivered it in view ${reference.view}, ${m.member} in view ${d.entry.view}`));
      } else {
        const onlyRef = missing(reference.before, before);
        const onlyM = missing(before, reference.before);
        if (onlyRef.length + onlyM.length > 0) {
          out.push(
            violation(
              'O4',
              `gbcast ${g} in view ${d.entry.view}: before it ${reference.member} alone delivered ${list(onlyRef)}, ${m.member} alone ${list(onlyM)}`,
            ),
          );
        }
      }
    }
  }
  return out;
}

/**
 * O5: once anyone (even a member that then crashes) delivered a safe m in V, every member of V
 * that never crashed nor was excluded and that installed a later view delivered m too. "Member
 * of V" means one that installed V: a joiner listed in V whose install never reached it (and
 * that joins a later view) was never in V.
 */
export function checkSafe(run: Run): Violation[] {
  const out: Violation[] = [];
  const reported = new Set<string>();
  for (const p of run.members) {
    for (const { entry: d } of p.deliveries) {
      if (!d.safe) continue;
      for (const id of run.views.get(d.view)?.members ?? []) {
        const q = run.byId.get(id);
        if (q === undefined || q.stopped || !q.installs.some((i) => i.entry.view.id === d.view) || !q.installs.some((i) => i.entry.view.id > d.view)) continue;
        const key = `${d.msg} ${id}`;
        if (reported.has(key) || q.deliveries.some((x) => x.entry.msg === d.msg)) continue;
        reported.add(key);
        out.push(violation('O5', `${p.member} delivered safe ${d.msg} in view ${d.view}; ${id} stayed and never delivered it`));
      }
    }
  }
  return out;
}
