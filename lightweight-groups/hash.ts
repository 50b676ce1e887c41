/**
 * The stable hashes of the lightweight-group layer. They are part of the
 * deployment's contract (every broker must compute the same answer, across
 * versions), so they are fixed and written down: 32-bit FNV-1a over the UTF-8
 * bytes of the input. Golden values are pinned in the tests.
 */

const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;

export function fnv1a32(text: string): number {
  // The UTF-8 bytes are made here from the UTF-16 code units (no encoder, no buffer: this runs
  // several times for every command), as TextEncoder would: a lone surrogate becomes U+FFFD.
  let hash = fnvOffset;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      hash = mix(hash, c);
      continue;
    }
    if (c < 0x800) {
      hash = mix(mix(hash, 0xc0 | (c >> 6)), 0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        hash = mix(mix(mix(mix(hash, 0xf0 | (cp >> 18)), 0x80 | ((cp >> 12) & 0x3f)), 0x80 | ((cp >> 6) & 0x3f)), 0x80 | (cp & 0x3f));
        continue;
      }
      c = 0xfffd;
    }
    hash = mix(mix(mix(hash, 0xe0 | (c >> 12)), 0x80 | ((c >> 6) & 0x3f)), 0x80 | (c & 0x3f));
  }
  return hash >>> 0;
}

/** One FNV-1a step: the hash with one more byte. */
function mix(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, fnvPrime) >>> 0;
}

/** The lightweight group of a topic: FNV-1a of its name, modulo the group count. */
export function lwgOf(topic: string, lwgCount: number): number {
  return fnv1a32(topic) % lwgCount;
}

/** A broker's weight for a group in rendezvous hashing: FNV-1a of `name|lwg`, mixed once more so that neighbouring groups spread. */
export function rendezvousScore(brokerName: string, lwg: number): number {
  let h = fnv1a32(`${brokerName}|${lwg}`);
  // A final avalanche (from MurmurHash3's fmix32) so that close inputs give far-apart scores.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
