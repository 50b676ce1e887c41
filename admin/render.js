// Draws the mesh model (mesh.js) into the page's sections. Each section is redrawn whole from the
// model: a few dozen rows, at most a few times a second.
import { $, ago, clock, duration, el, latency, rate } from './dom.js';
import { nameOf } from './mesh.js';

export function renderMesh(model, now) {
  renderSummary(model);
  renderMembers(model, now);
  renderViews(model);
  renderGroups(model);
  renderTop(model);
}

function renderSummary({ view, members, totals }) {
  const stale = members.filter((m) => !m.fresh).length;
  $('summary').replaceChildren(
    figure('view', view === null ? '–' : `#${view.id}`, view?.primary === false ? 'not primary' : null, true),
    figure('brokers', String(members.length), stale > 0 ? `${stale} without a fresh snapshot` : null, true),
    figure('connections', totals.connections.toLocaleString('en')),
    figure('subscriptions', totals.subscriptions.toLocaleString('en')),
    figure('messages in / s', rate(totals.in)),
    figure('delivered / s', rate(totals.out)),
    figure('p99 deliver', latency(totals.p99 ?? undefined), 'worst broker, last 10 s'),
  );
}

function figure(label, value, note = null, warning = false) {
  return el('div', { class: 'figure' }, el('span', { class: 'value' }, value), el('span', { class: 'label' }, label), note === null ? null : el('span', { class: warning ? 'note warn' : 'note' }, note));
}

function renderMembers({ members }, now) {
  const rows = members.map((m) => {
    const s = m.snapshot;
    const roles = [...m.roles];
    if (m.owns > 0) roles.push(`owns ${m.owns}, sequences ${m.sequences}`);
    return el(
      'tr',
      { 'data-member': m.id, class: m.fresh ? null : 'stale' },
      el('td', {}, el('span', { class: 'name' }, m.name), el('span', { class: 'id' }, m.id)),
      el('td', {}, roles.map((r) => el('span', { class: `role${r === 'this broker' ? ' self' : ''}` }, r))),
      el('td', {}, s === null ? 'no snapshot' : s.ready ? 'ready' : el('span', { class: 'warn' }, 'not ready')),
      num(s?.connections),
      num(s?.subscriptions),
      num(s?.topics),
      el('td', { class: 'num' }, rate(s?.rates?.in)),
      el('td', { class: 'num' }, rate(s?.rates?.out)),
      el('td', { class: 'num' }, latency(s?.latency?.p50 ?? undefined)),
      el('td', { class: 'num' }, latency(s?.latency?.p99 ?? undefined)),
      el('td', {}, s === null ? '–' : duration((s.at ?? now) - (s.startedAt ?? now))),
      el('td', { class: m.fresh ? 'age' : 'age warn' }, ago(m.age ?? undefined)),
      el('td', {}, s?.version ?? '–'),
    );
  });
  $('members').replaceChildren(...(rows.length > 0 ? rows : [emptyRow(13, 'waiting for the first snapshot…')]));
}

function num(n) {
  return el('td', { class: 'num' }, typeof n === 'number' ? n.toLocaleString('en') : '–');
}

function emptyRow(span, text) {
  return el('tr', {}, el('td', { colspan: span, class: 'empty' }, text));
}

function renderViews({ views }) {
  const items = views.map((v) =>
    el(
      'li',
      { 'data-view': v.id },
      el('span', { class: 'view-id' }, `view #${v.id}`),
      el('span', { class: 'time' }, clock(v.at)),
      v.joined.map((m) => el('span', { class: 'joined' }, `+ ${m}`)),
      v.left.map((m) => el('span', { class: 'left' }, `− ${m}`)),
      el('span', { class: 'members' }, `${v.members.length} broker${v.members.length === 1 ? '' : 's'}`),
    ),
  );
  $('views').replaceChildren(...(items.length > 0 ? items : [el('li', { class: 'empty' }, 'no view yet')]));
}

function renderGroups({ groups }) {
  const note = $('groups-note');
  if (groups === null) {
    note.textContent = 'No lightweight groups: one broker alone, or no snapshot of the table yet.';
    $('groups').replaceChildren();
    return;
  }
  note.textContent = `${groups.count} groups, ${groups.replicas ?? '?'} owners each; table from ${nameOf(groups.from)}${groups.partial ? ' — only groups not settled are listed' : ''}.`;
  $('groups').replaceChildren(
    ...groups.groups.map((g) =>
      el(
        'tr',
        { 'data-lwg': g.lwg },
        el('td', { class: 'num' }, String(g.lwg)),
        el(
          'td',
          {},
          g.owners.map((o) => el('span', { class: o === g.sequencer ? 'broker sequencer' : 'broker', title: o === g.sequencer ? 'sequencer' : 'owner' }, nameOf(o))),
          // A broker that took the stream over for its publishes, or the view's placed sequencer of a
          // group whose owners others claimed, sequences it without owning the group.
          g.sequencer !== undefined && !g.owners.includes(g.sequencer) ? [el('span', { class: 'broker sequencer', title: 'sequencer (not an owner)' }, `${nameOf(g.sequencer)} (sequences)`)] : [],
        ),
        el('td', {}, g.ready.map((h) => el('span', { class: 'broker' }, nameOf(h))), g.loading.map((h) => el('span', { class: 'broker loading', title: 'loading' }, `${nameOf(h)} (loading)`))),
        el('td', {}, g.wanters.map((w) => el('span', { class: 'broker' }, nameOf(w)))),
        el('td', { class: 'num' }, String(g.topics)),
      ),
    ),
  );
}

function renderTop({ top }) {
  const rows = top.map((t) =>
    el(
      'tr',
      { 'data-topic': t.topic },
      el('td', {}, el('button', { type: 'button', class: 'link', 'data-lookup': t.topic, title: 'look this topic up' }, t.topic)),
      el('td', { class: 'num' }, rate(t.rate)),
      el('td', { class: 'num' }, t.seq.toLocaleString('en')),
      el('td', {}, t.brokers.join(', ')),
    ),
  );
  $('top').replaceChildren(...(rows.length > 0 ? rows : [emptyRow(4, 'no messages in the last second')]));
}
