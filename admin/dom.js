// Building DOM without HTML strings: every text goes in as a text node and every attribute through
// setAttribute, so a topic name, a client id or a state (user input, all of them) is shown as
// itself and never parsed as markup. Nothing on the page parses an HTML string.

/** `el('td', { class: 'num', 'data-x': 1 }, 'text', child, [more])`; null, undefined and false children are skipped. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = String(value);
    else if (typeof value === 'function') node.addEventListener(key, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export const $ = (id) => document.getElementById(id);

/** Messages per second: one decimal below 10, whole numbers above. */
export function rate(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString('en');
}

/** A latency in seconds, in ms or µs. */
export function latency(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '–';
  const ms = seconds * 1000;
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}

export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** How long ago, from a duration in ms. */
export function ago(ms) {
  if (typeof ms !== 'number') return 'waiting';
  if (ms < 1500) return 'now';
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}

/** A broker's clock time, as the local time of day. */
export function clock(ts) {
  return typeof ts === 'number' ? new Date(ts).toLocaleTimeString('en-GB') : '–';
}

export function duration(ms) {
  if (typeof ms !== 'number' || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** A value as JSON, cut to `max` characters (a state can be a megabyte). */
export function json(value, max = 4000) {
  let text;
  try {
    text = JSON.stringify(value, (_k, v) => (v instanceof Uint8Array || ArrayBuffer.isView(v) ? `<${v.byteLength} bytes>` : v), 2) ?? 'undefined';
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}\n… (${text.length - max} more characters)` : text;
}
