/**
 * Walking msgpack bytes without decoding them: where a value ends (`skip`),
 * what a value's maps and nesting are (`walkValue`) — for finding payloads (scan.ts)
 * and the client's reader — and whether a value is plain msgpack within a depth
 * (`checkValue`, the frame checks of codec.ts).
 */

export interface Walk {
  /** Deepest nesting of arrays and maps seen (a scalar is 0, `[1]` is 1). */
  depth: number;
  /** Every map key a string or an integer, and none `__proto__`. */
  keysPlain: boolean;
  /** Every map key a string (an integer key would come back from decoding as a string), none `__proto__`. */
  keysAsIs: boolean;
}

export const newWalk = (): Walk => ({ depth: 0, keysPlain: true, keysAsIs: true });

const proto = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

/** Skips the value at `p` (well-formed bytes, depth already bounded), noting its depth and keys in `walk`; returns where it ends. */
export function walkValue(b: Uint8Array, view: DataView, p: number, depth: number, walk: Walk): number {
  const v = b[p]!;
  let items = 0;
  let pairs = 0;
  let head = 1;
  if ((v & 0xf0) === 0x90) items = v & 0x0f;
  else if ((v & 0xf0) === 0x80) pairs = v & 0x0f;
  else if (v === 0xdc) (items = view.getUint16(p + 1)), (head = 3);
  else if (v === 0xdd) (items = view.getUint32(p + 1)), (head = 5);
  else if (v === 0xde) (pairs = view.getUint16(p + 1)), (head = 3);
  else if (v === 0xdf) (pairs = view.getUint32(p + 1)), (head = 5);
  else return skip(b, view, p);
  if (depth + 1 > walk.depth) walk.depth = depth + 1;
  p += head;
  for (let i = 0; i < items; i++) p = walkValue(b, view, p, depth + 1, walk);
  for (let i = 0; i < pairs; i++) {
    const k = b[p]!;
    const str = isStrHead(k);
    if (!str) walk.keysAsIs = false;
    if (!str && !isIntHead(k)) walk.keysPlain = false;
    if (protoAt(b, p)) walk.keysPlain = walk.keysAsIs = false;
    p = skip(b, view, p);
    p = walkValue(b, view, p, depth + 1, walk);
  }
  return p;
}

/** Where the msgpack value at `p` ends (`view` over the same bytes as `b`). */
export function skip(b: Uint8Array, view: DataView, p: number): number {
  let pending = 1;
  while (pending > 0) {
    pending--;
    const v = b[p];
    if (v === undefined) throw new Error('truncated');
    if (v >= 0x80 && v < 0x90) (pending += 2 * (v & 0x0f)), (p += 1);
    else if (v >= 0x90 && v < 0xa0) (pending += v & 0x0f), (p += 1);
    else if (v === 0xdc || v === 0xde) (pending += view.getUint16(p + 1) * (v === 0xde ? 2 : 1)), (p += 3);
    else if (v === 0xdd || v === 0xdf) (pending += view.getUint32(p + 1) * (v === 0xdf ? 2 : 1)), (p += 5);
    else {
      const next = scalarEnd(b, view, p, v);
      if (next >= 0) p = next;
      else if (v >= 0xd4 && v <= 0xd8) p += 2 + 2 ** (v - 0xd4); // fixext 1, 2, 4, 8, 16
      else if (v === 0xc7) p = p + 1 < b.byteLength ? p + 3 + b[p + 1]! : Infinity;
      else if (v === 0xc8) p += 4 + view.getUint16(p + 1);
      else if (v === 0xc9) p += 6 + view.getUint32(p + 1);
      else throw new Error(`bad msgpack byte 0x${v.toString(16)}`);
    }
    if (p > b.byteLength) throw new Error('truncated');
  }
  return p;
}

/**
 * Where the value at `p` (its first byte `v`) ends, for any value but an array, a map or an
 * extension (and the unused byte 0xc1): -1 for those. A length that runs past the bytes gives a
 * position past them (Infinity where the length itself is cut off); the caller checks.
 */
function scalarEnd(b: Uint8Array, view: DataView, p: number, v: number): number {
  if (v < 0x80 || v >= 0xe0) return p + 1;
  if (v >= 0xa0 && v < 0xc0) return p + 1 + (v & 0x1f);
  const left = b.byteLength - p;
  switch (v) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return p + 1;
    case 0xc4:
    case 0xd9:
      return left < 2 ? Infinity : p + 2 + b[p + 1]!;
    case 0xc5:
    case 0xda:
      return left < 3 ? Infinity : p + 3 + view.getUint16(p + 1);
    case 0xc6:
    case 0xdb:
      return left < 5 ? Infinity : p + 5 + view.getUint32(p + 1);
    case 0xcc:
    case 0xd0:
      return p + 2;
    case 0xcd:
    case 0xd1:
      return p + 3;
    case 0xca:
    case 0xce:
    case 0xd2:
      return p + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return p + 9;
    default:
      return -1;
  }
}

/** Whether a value whose first byte is `v` is a string (fixstr, str8, str16, str32). */
export function isStrHead(v: number): boolean {
  return (v >= 0xa0 && v <= 0xbf) || v === 0xd9 || v === 0xda || v === 0xdb;
}

/** Whether a value whose first byte is `v` is an integer (fixints, uint8–64, int8–64). */
function isIntHead(v: number): boolean {
  return v < 0x80 || v >= 0xe0 || (v >= 0xcc && v <= 0xd3);
}

/** Whether the string at `p` is `__proto__`, in any of the four string forms (fixstr, str8, str16, str32). */
function protoAt(b: Uint8Array, p: number): boolean {
  const v = b[p];
  const at = v === 0xa9 ? p + 1 : v === 0xd9 && b[p + 1] === 9 ? p + 2 : v === 0xda && b[p + 1] === 0 && b[p + 2] === 9 ? p + 3 : v === 0xdb && b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0 && b[p + 4] === 9 ? p + 5 : -1;
  if (at < 0) return false;
  for (let j = 0; j < 9; j++) if (b[at + j] !== proto[j]) return false;
  return true;
}

/** What `checkValue` found wrong with a value's bytes, or undefined when nothing. */
export type ValueFault = 'malformed' | 'too-deep' | 'bad-value';

// Per nesting level: the items still to read, and whether it is a map (its items alternate key, value).
let remaining = new Float64Array(66);
let isMap = new Uint8Array(66);

/**
 * Checks that `b` holds exactly one well-formed msgpack value, arrays and maps nested at most
 * `depthMax` deep, no extension type anywhere, and every map key a string or an integer and none
 * `__proto__` — in one loop over the bytes, without recursion or allocation. The first fault
 * found is returned.
 */
export function checkValue(b: Uint8Array, view: DataView, depthMax: number): ValueFault | undefined {
  if (remaining.length < depthMax + 2) (remaining = new Float64Array(depthMax + 2)), (isMap = new Uint8Array(depthMax + 2));
  const end = b.byteLength;
  let p = 0;
  let d = 0;
  remaining[0] = 1;
  isMap[0] = 0;
  for (;;) {
    while (remaining[d] === 0) {
      if (d === 0) return p === end ? undefined : 'malformed';
      d--;
    }
    const key = isMap[d] === 1 && remaining[d]! % 2 === 0;
    remaining[d] = remaining[d]! - 1;
    if (p >= end) return 'malformed';
    const v = b[p]!;
    if (key) {
      if (!isStrHead(v) && !isIntHead(v)) return 'bad-value';
      if (protoAt(b, p)) return 'bad-value';
    }
    let items = -1;
    let map = 0;
    if (v >= 0x80 && v < 0x90) (items = 2 * (v & 0x0f)), (map = 1), (p += 1);
    else if (v >= 0x90 && v < 0xa0) (items = v & 0x0f), (p += 1);
    else if (v === 0xdc || v === 0xde) {
      if (p + 3 > end) return 'malformed';
      map = v === 0xde ? 1 : 0;
      items = view.getUint16(p + 1) * (1 + map);
      p += 3;
    } else if (v === 0xdd || v === 0xdf) {
      if (p + 5 > end) return 'malformed';
      map = v === 0xdf ? 1 : 0;
      items = view.getUint32(p + 1) * (1 + map);
      p += 5;
    } else {
      const next = scalarEnd(b, view, p, v);
      // 0xc7–0xc9, 0xd4–0xd8 are extensions (a Date, undefined, a record … once decoded); 0xc1 is never used.
      if (next < 0) return v === 0xc1 ? 'malformed' : 'bad-value';
      p = next;
    }
    if (p > end) return 'malformed';
    if (items >= 0) {
      if (d + 1 > depthMax) return 'too-deep';
      // More items than bytes left cannot be well-formed (each takes one byte at least).
      if (items > end - p) return 'malformed';
      d++;
      remaining[d] = items;
      isMap[d] = map;
    }
  }
}
