// Drawing and DOM rendering. Nothing here talks to Chorus: it paints what room.js knows.
import { arena, coinRadius, playerSize } from './rules.js';

/** Remote players are drawn this far in the past, so there are two positions to blend between. */
export const interpolationDelayMs = 100;

/**
 * The positions received for one remote player, with their arrival times. Positions come at
 * 20 Hz and are at most once, so drawing the last one would stutter; drawing ~100 ms behind
 * and blending between the two samples around that moment moves the dot smoothly.
 */
export class Track {
  samples = [];

  push(x, y, now) {
    const last = this.samples.at(-1);
    // After an idle spell the previous sample is old: blending from it would smear the first
    // step over that whole spell. Pin the old position just before the new one instead.
    if (last !== undefined && now - last.t > 2 * interpolationDelayMs) this.samples.push({ x: last.x, y: last.y, t: now - 50 });
    this.samples.push({ x, y, t: now });
    // One second of samples is more than the blend ever looks at.
    while (this.samples.length > 2 && this.samples[1].t < now - 1000) this.samples.shift();
  }

  latest() {
    return this.samples.at(-1);
  }

  /** The position to draw at time `now`. */
  at(now) {
    const t = now - interpolationDelayMs;
    const s = this.samples;
    if (s.length === 0) return undefined;
    if (t <= s[0].t) return s[0];
    for (let i = s.length - 1; i > 0; i--) {
      const a = s[i - 1];
      const b = s[i];
      if (t >= a.t && t <= b.t) {
        const k = b.t === a.t ? 1 : (t - a.t) / (b.t - a.t);
        return { x: a.x + (b.x - a.x) * k, y: a.y + (b.y - a.y) * k };
      }
    }
    return s.at(-1);
  }
}

/** Paints one frame: the floor, the coin, every player with a known position. */
export function drawArena(ctx, { coin, players }) {
  ctx.clearRect(0, 0, arena.width, arena.height);
  ctx.fillStyle = '#11151c';
  ctx.fillRect(0, 0, arena.width, arena.height);
  ctx.strokeStyle = '#1c2330';
  ctx.lineWidth = 1;
  for (let x = 0; x <= arena.width; x += 50) line(ctx, x, 0, x, arena.height);
  for (let y = 0; y <= arena.height; y += 50) line(ctx, 0, y, arena.width, y);

  if (coin) {
    ctx.beginPath();
    ctx.arc(coin.x, coin.y, coinRadius, 0, 2 * Math.PI);
    ctx.fillStyle = '#f5c542';
    ctx.fill();
    ctx.strokeStyle = '#a87f12';
    ctx.lineWidth = 2;
    ctx.stroke();
  }

  ctx.font = '12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  for (const p of players) {
    const half = playerSize / 2;
    ctx.fillStyle = p.color;
    ctx.fillRect(p.x - half, p.y - half, playerSize, playerSize);
    if (p.me) {
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 2;
      ctx.strokeRect(p.x - half - 2, p.y - half - 2, playerSize + 4, playerSize + 4);
    }
    ctx.fillStyle = '#d8dee9';
    ctx.fillText(p.name, p.x, p.y - half - 6);
  }
}

function line(ctx, x1, y1, x2, y2) {
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}

/** Replaces a list's items; text goes in as text, never as HTML (names and chat come from anyone). */
function fill(list, items, build) {
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement('li');
    build(li, item);
    return li;
  }));
}

function swatch(color) {
  const span = document.createElement('span');
  span.className = 'swatch';
  span.style.background = color;
  return span;
}

export function renderPlayers(list, players) {
  const sorted = [...players].sort((a, b) => Number(b.me) - Number(a.me) || a.name.localeCompare(b.name));
  fill(list, sorted, (li, p) => li.append(swatch(p.color), `${p.name}${p.me ? ' (you)' : ''}`));
}

/** Scores are kept per client id (stable across reconnects); the name is the one at scoring time. */
export function renderScores(list, scores, colorOf) {
  const rows = Object.entries(scores ?? {})
    .map(([client, s]) => ({ client, name: s?.name ?? '?', score: s?.score ?? 0 }))
    .sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  if (rows.length === 0) {
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'empty', textContent: 'No points yet: take the coin!' }));
    return;
  }
  fill(list, rows, (li, r) => {
    const score = document.createElement('b');
    score.textContent = String(r.score);
    li.append(swatch(colorOf(r.client)), `${r.name} `, score);
  });
}

export function renderChat(log, lines) {
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  fill(log, lines, (li, l) => {
    if (l.system) {
      li.className = 'system';
      li.textContent = l.text;
      return;
    }
    const who = document.createElement('b');
    who.textContent = `${l.name}: `;
    li.append(who, l.text);
  });
  if (stick) log.scrollTop = log.scrollHeight;
}

export function renderRooms(list, rooms, onJoin) {
  const entries = Object.entries(rooms ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'No rooms yet: name one below to open it.';
    list.replaceChildren(li);
    return;
  }
  fill(list, entries, (li, [room, info]) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Join';
    button.addEventListener('click', () => onJoin(room));
    const count = info?.players ?? 0;
    li.dataset.room = room;
    li.append(`${room} `, Object.assign(document.createElement('span'), { className: 'count', textContent: `${count} player${count === 1 ? '' : 's'}` }), button);
  });
}
