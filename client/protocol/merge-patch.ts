/**
 * RFC 7386 JSON Merge Patch, over msgpack values: a patch that is a map is
 * merged key by key (a `null` value removes the key); anything else replaces
 * the target. Pure: the target is never mutated, a new value is returned.
 */

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const base: Record<string, unknown> = isPlainObject(target) ? target : {};
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(base)) defineValue(out, key, base[key]);
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) {
      delete out[key];
    } else {
      defineValue(out, key, applyMergePatch(Object.hasOwn(out, key) ? out[key] : undefined, value));
    }
  }
  return out;
}

/** Assigns as an own data property, so a `__proto__` key stays inert data. */
function defineValue(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
