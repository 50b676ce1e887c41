// The page's two actions, over the HTTP API of the broker that served it: look a topic up (its
// seq, epoch, state, the tail of its history, who is present) and disconnect a client.
import { api, failure, segment } from './api.js';
import { $, bytes, clock, el, json } from './dom.js';
import { brokerOfSession, nameOf } from './mesh.js';

/** Messages of the history tail shown. */
const tailLength = 20;

/**
 * Looks `topic` up and shows it in #lookup. `context.self` is this broker's name; `context.brokers`
 * the latest snapshots (to say where a presence entry's session lives).
 */
export async function lookUp(topic, context) {
  const out = $('lookup');
  if (topic === '') return;
  out.replaceChildren(el('p', { class: 'note' }, `Reading ${topic}…`));
  const read = await api(`/api/v1/topics/${segment(topic)}`);
  if (!read.ok) {
    out.replaceChildren(el('p', { class: 'error' }, `${topic}: ${failure(read)}`));
    return;
  }
  const t = read.body;
  const parts = [
    el('h3', {}, t.topic),
    el(
      'dl',
      { class: 'facts' },
      fact('seq', String(t.seq)),
      fact('epoch', t.epoch === '' ? '(none: no message yet)' : t.epoch),
      fact('subscribers here', String(t.subscribers)),
      fact('history', `${t.history.length} messages, ${bytes(t.history.bytes)}, from seq ${t.history.firstSeq ?? '–'}`),
    ),
    el('h4', {}, 'State'),
    el('pre', { class: 'json', 'data-part': 'state' }, json(t.state)),
  ];
  parts.push(el('h4', {}, `Last messages`), await historyTail(t));
  parts.push(el('h4', {}, 'Presence'), presenceTable(t.presence, context));
  out.replaceChildren(...parts);
}

function fact(term, value) {
  return [el('dt', {}, term), el('dd', {}, value)];
}

async function historyTail(t) {
  if (t.history.length === 0 || t.history.firstSeq === null) return el('p', { class: 'note' }, 'No message kept.');
  const from = Math.max(t.history.firstSeq, t.seq - tailLength + 1);
  const tail = await api(`/api/v1/topics/${segment(t.topic)}/history?from=${from}&limit=${tailLength}`);
  // The broker's history route may be refused (410: it moved on meanwhile) or missing (an older broker).
  if (!tail.ok) return el('p', { class: 'note' }, `History not shown: ${failure(tail)}`);
  const rows = (tail.body.messages ?? []).map((m) =>
    el('tr', {}, el('td', { class: 'num' }, String(m.seq)), el('td', {}, m.kind), el('td', {}, clock(m.ts)), el('td', {}, m.client ?? '–'), el('td', {}, el('code', {}, json(m.data, 300)))),
  );
  return el('table', { class: 'grid', 'data-part': 'history' }, el('thead', {}, el('tr', {}, ['seq', 'kind', 'time', 'client', 'data'].map((h) => el('th', {}, h)))), el('tbody', {}, rows));
}

function presenceTable(presence, context) {
  if (presence === undefined) return el('p', { class: 'note' }, 'This credential may not see presence here.');
  const entries = Object.entries(presence);
  if (entries.length === 0) return el('p', { class: 'note' }, 'Nobody present.');
  const rows = entries.map(([session, entry]) => {
    const broker = brokerOfSession(session);
    return el(
      'tr',
      { 'data-session': session },
      el('td', {}, entry.client),
      el('td', {}, el('code', {}, session)),
      el('td', {}, broker === null ? context.self : nameOf(broker)),
      el('td', {}, entry.info === undefined ? '–' : el('code', {}, json(entry.info, 200))),
      el('td', {}, el('button', { type: 'button', class: 'small', 'data-disconnect': entry.client, 'data-session': session }, 'disconnect…')),
    );
  });
  return el('table', { class: 'grid', 'data-part': 'presence' }, el('thead', {}, el('tr', {}, ['client', 'session', 'broker', 'info', ''].map((h) => el('th', {}, h)))), el('tbody', {}, rows));
}

/** Fills the disconnect form from a presence entry (the operator still confirms). */
export function prepareDisconnect(client, session) {
  $('dc-client').value = client;
  $('dc-session').value = session;
  $('dc-client').focus();
}

/**
 * Disconnects `client` (its sessions here, or only `session`) through this broker, and says what
 * happened in #dc-result. A session at another broker can only be closed there: the answer says
 * which, with a link to that broker's admin page when its address is known.
 */
export async function disconnect({ client, session, reconnect, reason }, context) {
  const out = $('dc-result');
  if (client === '') return;
  const query = new URLSearchParams({ reconnect: reconnect ? 'true' : 'false' });
  if (session !== '') query.set('session', session);
  if (reason !== '') query.set('reason', reason);
  out.replaceChildren(el('span', { class: 'note' }, `Disconnecting ${client}…`));
  const result = await api(`/api/v1/sessions/${segment(client)}?${query}`, 'DELETE');
  if (result.ok) {
    const closed = result.body.sessions ?? [];
    out.replaceChildren(el('span', { class: 'ok' }, `Closed ${closed.length} session${closed.length === 1 ? '' : 's'} of ${client} with ${result.body.code}.`));
    return;
  }
  const broker = session === '' ? null : brokerOfSession(session);
  const elsewhere = broker !== null && nameOf(broker) !== context.self ? context.brokers()[broker] : undefined;
  const link = typeof elsewhere?.http === 'string' && /^https?:\/\//.test(elsewhere.http) ? el('a', { href: `${elsewhere.http}/`, target: '_blank', rel: 'noopener noreferrer' }, `its admin page`) : null;
  out.replaceChildren(
    el('span', { class: 'error' }, failure(result)),
    broker !== null && nameOf(broker) !== context.self ? el('span', { class: 'note' }, ` That session is at ${nameOf(broker)}: disconnect it there`, link === null ? '.' : [' (', link, ').']) : null,
  );
}
