/**
 * Where each message's `data` lies in a frame, read from the bytes (nothing
 * decoded): the broker delivers a published payload as the publisher encoded
 * it, instead of encoding the decoded value again. Run on a frame that
 * already decoded as plain msgpack within the depth limit (codec.ts), so only
 * what re-encoding would change is looked for: a map key that is not a string
 * (the decoder turns it into one) or is `__proto__` (renamed `__proto_`). A
 * payload with either is encoded again, as before.
 */
import { newWalk, skip, walkValue } from './walk.js';

export interface DataBytes {
  /** The payload's bytes: a view of the frame. */
  bytes: Uint8Array;
  /** Deepest nesting inside it (a scalar is 0, `[1]` is 1). */
  depth: number;
  /** False when re-encoding the decoded value would give other bytes than a client could tell apart. */
  asIs: boolean;
}

/** For each message of the frame: its `data`, or undefined (not a map, or no `data`). Throws on malformed input. */
export function dataOf(frame: Uint8Array): Array<DataBytes | undefined> {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let p = 0;
  const h = frame[p++]!;
  let count: number;
  if ((h & 0xf0) === 0x90) count = h & 0x0f;
  else if (h === 0xdc) (count = view.getUint16(p), (p += 2));
  else if (h === 0xdd) (count = view.getUint32(p), (p += 4));
  else throw new Error('a frame is an array');
  const out = new Array<DataBytes | undefined>(count);
  for (let i = 0; i < count; i++) {
    const m = frame[p]!;
    let pairs = -1;
    if ((m & 0xf0) === 0x80) (pairs = m & 0x0f), (p += 1);
    else if (m === 0xde) (pairs = view.getUint16(p + 1)), (p += 3);
    else if (m === 0xdf) (pairs = view.getUint32(p + 1)), (p += 5);
    if (pairs < 0) {
      p = skip(frame, view, p);
      continue;
    }
    for (let k = 0; k < pairs; k++) {
      const isData = frame[p] === 0xa4 && frame[p + 1] === 0x64 && frame[p + 2] === 0x61 && frame[p + 3] === 0x74 && frame[p + 4] === 0x61;
      p = skip(frame, view, p);
      if (!isData) {
        p = skip(frame, view, p);
        continue;
      }
      const walk = newWalk();
      const start = p;
      p = walkValue(frame, view, p, 0, walk);
      out[i] = { bytes: frame.subarray(start, p), depth: walk.depth, asIs: walk.keysAsIs };
    }
  }
  return out;
}
