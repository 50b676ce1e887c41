/**
 * Walking msgpack bytes without decoding them: where a value ends (`skip`),
 * and what a value's maps and nesting are (`walkValue`) — for the frame
 * checks (codec.ts), finding payloads (scan.ts) and the client's reader.
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

const protoKey = [0xa9, 0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // fixstr "__proto__"

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
    const str = (k >= 0xa0 && k <= 0xbf) || k === 0xd9 || k === 0xda || k === 0xdb;
    const int = k < 0x80 || k >= 0xe0 || (k >= 0xcc && k <= 0xd3);
    if (!str) walk.keysAsIs = false;
    if (!str && !int) walk.keysPlain = false;
    if (k === 0xa9 && protoKey.every((c, j) => b[p + j] === c)) walk.keysPlain = walk.keysAsIs = false;
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
    if (v < 0x80 || v >= 0xe0) p += 1;
    else if (v < 0x90) (pending += 2 * (v & 0x0f), (p += 1));
    else if (v < 0xa0) (pending += v & 0x0f, (p += 1));
    else if (v < 0xc0) p += 1 + (v & 0x1f);
    else {
      switch (v) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          p += 1;
          break;
        case 0xc4:
        case 0xd9:
          p += 2 + b[p + 1]!;
          break;
        case 0xc5:
        case 0xda:
          p += 3 + view.getUint16(p + 1);
          break;
        case 0xc6:
        case 0xdb:
          p += 5 + view.getUint32(p + 1);
          break;
        case 0xcc:
        case 0xd0:
          p += 2;
          break;
        case 0xcd:
        case 0xd1:
          p += 3;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          p += 5;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          p += 9;
          break;
        case 0xdc:
          pending += view.getUint16(p + 1);
          p += 3;
          break;
        case 0xdd:
          pending += view.getUint32(p + 1);
          p += 5;
          break;
        case 0xde:
          pending += 2 * view.getUint16(p + 1);
          p += 3;
          break;
        case 0xdf:
          pending += 2 * view.getUint32(p + 1);
          p += 5;
          break;
        case 0xd4:
          p += 3;
          break;
        case 0xd5:
          p += 4;
          break;
        case 0xd6:
          p += 6;
          break;
        case 0xd7:
          p += 10;
          break;
        case 0xd8:
          p += 18;
          break;
        case 0xc7:
          p += 3 + b[p + 1]!;
          break;
        case 0xc8:
          p += 4 + view.getUint16(p + 1);
          break;
        case 0xc9:
          p += 6 + view.getUint32(p + 1);
          break;
        default:
          throw new Error(`bad msgpack byte 0x${v.toString(16)}`);
      }
    }
    if (p > b.byteLength) throw new Error('truncated');
  }
  return p;
}
