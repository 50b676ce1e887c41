// The mesh as the admin page shows it, from the state of `$sys` (docs/admin.md): the latest
// snapshot of each broker, by member id. Pure: no DOM, no clock of its own (`now` comes in), so
// test/unit/admin-mesh.test.ts runs it in Node.

/** A snapshot not renewed for this long is stale (brokers send one a second while watched). */
export const staleMs = 5000;

/**
 * `brokers`: `$sys`'s state `.brokers` (member id → snapshot). `seen`: member id → when this page
 * last received that broker's snapshot (its own clock; absent: only loaded with the state).
 * `self`: the name of the broker this page is connected to.
 */
export function meshModel(brokers, seen, now, self) {
  const entries = Object.entries(isObject(brokers) ? brokers : {}).filter(([, s]) => isObject(s));
  const fresh = (id) => seen.has(id) && now - seen.get(id) < staleMs;
  // The view: the newest among fresh snapshots (a broker that stopped sending may be gone), else among all.
  const candidates = entries.filter(([id]) => fresh(id));
  const view = newestView(candidates.length > 0 ? candidates : entries);
  const byId = new Map(entries);
  // A broker gone from the view may still have its last snapshot in the state (until the leader's clean-up): it counts no more.
  const inView = view === null ? entries : entries.filter(([id]) => view.members.includes(id));
  const table = groupTable(inView, fresh) ?? groupTable(entries, fresh);
  const members = (view?.members ?? entries.map(([id]) => id)).map((id, i) => {
    const snapshot = byId.get(id) ?? null;
    const roles = [];
    if (i === 0 && view !== null) roles.push('coordinator');
    if (snapshot !== null && nameOf(id) === self) roles.push('this broker');
    if (table !== null && table.from === id) roles.push('$sys leader');
    const sequences = table === null ? 0 : table.groups.filter((g) => g.sequencer === id).length;
    const owns = table === null ? 0 : table.groups.filter((g) => g.owners.includes(id)).length;
    return { id, name: nameOf(id), snapshot, roles, sequences, owns, fresh: fresh(id), age: seen.has(id) ? now - seen.get(id) : null };
  });
  return { view, members, views: viewChanges(byId, view), groups: table, top: topTopics(inView), totals: totals(members) };
}

/** The view with the highest id among snapshots. */
function newestView(entries) {
  let best = null;
  for (const [, s] of entries) {
    const v = s.view;
    if (isObject(v) && Array.isArray(v.members) && (best === null || v.id > best.id)) best = { id: v.id, members: v.members.map(String), primary: v.primary === true };
  }
  return best;
}

/** Recent view changes, as the member of the view with the newest (then the longest) list keeps them, each with who joined and who left. */
function viewChanges(byId, view) {
  let views = [];
  const last = (list) => list.at(-1)?.id ?? -1;
  for (const id of view?.members ?? [...byId.keys()]) {
    const list = byId.get(id)?.views;
    if (!Array.isArray(list)) continue;
    if (last(list) > last(views) || (last(list) === last(views) && list.length > views.length)) views = list;
  }
  return views
    .filter((v) => isObject(v) && Array.isArray(v.members))
    .map((v, i, all) => {
      // Before the oldest view kept, only the first view of a mesh is known (nobody).
      const before = i > 0 ? all[i - 1].members : v.id === 1 ? [] : v.members;
      return { id: v.id, at: v.at, members: v.members, joined: v.members.filter((m) => !before.includes(m)), left: before.filter((m) => !v.members.includes(m)) };
    })
    .reverse();
}

/** The lightweight-group table: from the broker that sends it (a fresh one first), with the topics each group has at the broker keeping most of them. */
function groupTable(entries, fresh) {
  const senders = entries.filter(([, s]) => Array.isArray(s.groups));
  if (senders.length === 0) return null;
  senders.sort(([a, sa], [b, sb]) => Number(fresh(b)) - Number(fresh(a)) || (sb.at ?? 0) - (sa.at ?? 0));
  const [from, snapshot] = senders[0];
  const topics = new Map();
  for (const [, s] of entries) {
    for (const pair of Array.isArray(s.lwg?.topics) ? s.lwg.topics : []) {
      if (Array.isArray(pair)) topics.set(pair[0], Math.max(topics.get(pair[0]) ?? 0, Number(pair[1]) || 0));
    }
  }
  const groups = snapshot.groups
    .filter(Array.isArray)
    // The sixth field, the broker sequencing the stream now, is absent from brokers before it: the first owner then.
    .map(([lwg, owners, ready, loading, wanters, sequencer]) => ({ lwg, owners: list(owners), ready: list(ready), loading: list(loading), wanters: list(wanters), sequencer: typeof sequencer === 'string' ? sequencer : list(owners)[0], topics: topics.get(lwg) ?? 0 }));
  return { from, count: snapshot.lwg?.count ?? groups.length, replicas: snapshot.lwg?.replicas ?? null, partial: snapshot.groupsPartial === true, groups };
}

/** The busiest topics of the mesh: each broker lists those it keeps; copies of a topic agree, so the fastest report counts. */
function topTopics(entries, max = 15) {
  const byTopic = new Map();
  for (const [id, s] of entries) {
    for (const row of Array.isArray(s.top) ? s.top : []) {
      if (!Array.isArray(row) || typeof row[0] !== 'string') continue;
      const [topic, rate, seq] = row;
      const t = byTopic.get(topic) ?? { topic, rate: 0, seq: 0, brokers: [] };
      t.rate = Math.max(t.rate, Number(rate) || 0);
      t.seq = Math.max(t.seq, Number(seq) || 0);
      t.brokers.push(nameOf(id));
      byTopic.set(topic, t);
    }
  }
  return [...byTopic.values()].sort((a, b) => b.rate - a.rate || (a.topic < b.topic ? -1 : 1)).slice(0, max);
}

/** The mesh's totals over the members with a snapshot. */
function totals(members) {
  const t = { connections: 0, subscriptions: 0, in: 0, out: 0, p99: null };
  for (const m of members) {
    const s = m.snapshot;
    if (s === null) continue;
    t.connections += s.connections ?? 0;
    t.subscriptions += s.subscriptions ?? 0;
    t.in += s.rates?.in ?? 0;
    t.out += s.rates?.out ?? 0;
    const p99 = s.latency?.p99;
    if (typeof p99 === 'number' && (t.p99 === null || p99 > t.p99)) t.p99 = p99;
  }
  t.in = Math.round(t.in * 10) / 10;
  t.out = Math.round(t.out * 10) / 10;
  return t;
}

/** `name#incarnation` → `name`. */
export function nameOf(id) {
  const s = String(id);
  const hash = s.lastIndexOf('#');
  return hash < 0 ? s : s.slice(0, hash);
}

/** The broker a session id belongs to (`<member id>/<id>` in a mesh), or null. */
export function brokerOfSession(session) {
  const slash = String(session).lastIndexOf('/');
  return slash > 0 ? String(session).slice(0, slash) : null;
}

const list = (v) => (Array.isArray(v) ? v.map(String) : []);

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
