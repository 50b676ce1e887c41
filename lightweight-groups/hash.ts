/**
 * The stable hashes of the lightweight-group layer. They are part of the
 * deployment's contract (every broker must compute the same answer, across
 * versions), so they are fixed and written down: 32-bit FNV-1a over the UTF-8
 * bytes of the input. Golden values are pinned in the tests.
 */

const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;

export function fnv1a32(text: string): number {
  let hash = fnvOffset;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, fnvPrime) >>> 0;
  }
  return hash >>> 0;
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
