// Proves the architecture's import rules by scanning every source file's imports:
// client/ imports nothing from broker/ or lightweight-groups/ and nothing Node-only (except
// client/node-websocket.ts), no layer imports one above it, and no files import each other in a
// circle (type-only imports included: a circle of types is a tangle of concerns all the same).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(join(root, dir));
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) out = out.concat(sources(path));
    else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  return specs;
}

/** Layer of a repository path: higher numbers sit above lower ones. */
function layerOf(path: string): [string, number] | undefined {
  const layers: Array<[string, number]> = [
    ['broker/main/', 7],
    ['broker/server/', 6],
    ['broker/mesh/', 5.5],
    ['broker/topics/', 5],
    ['broker/auth/', 4.5],
    ['lightweight-groups/', 4],
    ['broker/core/', 3],
    ['broker/transport/', 2],
    ['client/', 1],
  ];
  return layers.find(([prefix]) => path.startsWith(prefix));
}

describe('import rules', () => {
  const files = [...sources('client'), ...sources('broker'), ...sources('lightweight-groups')];

  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('client/ imports no broker code and nothing Node-only', () => {
    const offences: string[] = [];
    for (const file of sources('client')) {
      for (const spec of imports(file)) {
        const target = spec.startsWith('.') ? relative(root, resolve(root, file, '..', spec)) : spec;
        if (target.startsWith('broker/') || target.startsWith('lightweight-groups/')) offences.push(`${file} → ${spec}`);
        if (file !== 'client/node-websocket.ts' && (spec.startsWith('node:') || spec === 'ws')) offences.push(`${file} → ${spec}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('no layer imports a layer above it (arrows point down)', () => {
    const offences: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const spec of imports(file)) {
        if (!spec.startsWith('.')) continue;
        const to = layerOf(relative(root, resolve(root, file, '..', spec)));
        if (from !== undefined && to !== undefined && to[1] > from[1]) offences.push(`${file} → ${spec}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('no files import each other in a circle', () => {
    const edges = new Map<string, string[]>();
    for (const file of files) {
      const targets = imports(file)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => relative(root, resolve(root, file, '..', spec)).replace(/\.js$/, '.ts'))
        .filter((target) => files.includes(target));
      edges.set(file, targets);
    }
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      path.push(file);
      for (const next of edges.get(file) ?? []) {
        if (state.get(next) === 'open') circles.push([...path.slice(path.indexOf(next)), next].join(' → '));
        else if (state.get(next) === undefined) visit(next);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (state.get(file) === undefined) visit(file);
    expect(circles).toEqual([]);
  });
});
