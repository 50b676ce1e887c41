/**
 * A topic's state and its encoded size, kept so that a small patch on a large
 * state costs in proportion to the patch, not to the state.
 *
 * When the state is a map, the size of each top-level entry is remembered; a
 * merge patch re-encodes only the entries it touches (and a map header), and
 * changes the state in place once accepted — the state's own top-level map:
 * a `state` message's map is copied (its top level) when it becomes the
 * state, because others hold that object too (the core group keeps the
 * command and encodes it again when it retransmits or forwards it; a patch
 * merged into it would change what seq s carries). Anything else (a `state`
 * message, a patch onto a non-map, a non-map patch) costs the size of the new
 * value once. The size always equals `encode(value).byteLength`.
 */
import { applyMergePatch, encode, isPlainObject } from '../../client/protocol/index.js';

export interface PreparedState {
  /** Encoded size the state will have. */
  bytes: number;
  /** Makes it the state. */
  commit(): void;
}

export class TopicState {
  /** The current value (`null` until the first state or patch). */
  value: unknown = null;
  /** `encode(value).byteLength`. */
  bytes = 1;
  /** For a map state: encoded bytes of each entry (key plus value). */
  private entryBytes: Map<string, number> | undefined;

  /** The state after a `state` or `patch` message, without changing anything yet. */
  prepare(kind: 'state' | 'patch', data: unknown): PreparedState {
    if (kind === 'patch' && isPlainObject(data) && isPlainObject(this.value) && this.entryBytes !== undefined) {
      return this.preparePatch(this.value, this.entryBytes, data);
    }
    const value = kind === 'state' ? ownMap(data) : applyMergePatch(this.value, data);
    const entries = isPlainObject(value) ? measureEntries(value) : undefined;
    const bytes = entries === undefined ? encode(value).byteLength : mapHeaderBytes(entries.size) + sum(entries);
    return {
      bytes,
      commit: () => {
        this.value = value;
        this.bytes = bytes;
        this.entryBytes = entries;
      },
    };
  }

  private preparePatch(target: Record<string, unknown>, entries: Map<string, number>, patch: Record<string, unknown>): PreparedState {
    const changes: Array<[string, unknown, number]> = [];
    let count = entries.size;
    let body = this.bytes - mapHeaderBytes(count);
    for (const key of Object.keys(patch)) {
      const old = entries.get(key);
      const patchValue = patch[key];
      if (patchValue === null) {
        if (old === undefined) continue;
        body -= old;
        count--;
        changes.push([key, undefined, 0]);
        continue;
      }
      const value = applyMergePatch(Object.hasOwn(target, key) ? target[key] : undefined, patchValue);
      const size = entrySize(key, value);
      body += size - (old ?? 0);
      if (old === undefined) count++;
      changes.push([key, value, size]);
    }
    const bytes = mapHeaderBytes(count) + body;
    return {
      bytes,
      commit: () => {
        for (const [key, value, size] of changes) {
          if (value === undefined) {
            delete target[key];
            entries.delete(key);
          } else {
            Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
            entries.set(key, size);
          }
        }
        this.bytes = bytes;
      },
    };
  }
}

/** A map's top level copied (patches change only the top level in place; nested values are replaced, never changed). */
function ownMap(data: unknown): unknown {
  if (!isPlainObject(data)) return data;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(data)) Object.defineProperty(copy, key, { value: data[key], enumerable: true, writable: true, configurable: true });
  return copy;
}

function entrySize(key: string, value: unknown): number {
  return encode(key).byteLength + encode(value).byteLength;
}

function measureEntries(value: Record<string, unknown>): Map<string, number> {
  const entries = new Map<string, number>();
  for (const key of Object.keys(value)) entries.set(key, entrySize(key, value[key]));
  return entries;
}

function mapHeaderBytes(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

function sum(entries: Map<string, number>): number {
  let total = 0;
  for (const size of entries.values()) total += size;
  return total;
}
