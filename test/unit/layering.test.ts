// Proves the architecture's import rules (docs/architecture.md) by scanning every source file:
// client/ imports nothing from broker/ or lightweight-groups/ and nothing Node-only (except
// client/node-websocket.ts); every folder imports only the folders its row of the table below
// allows; the pure cores (broker/core, broker/node, broker/topics, lightweight-groups) read no clock, schedule
// nothing, draw no random number and import nothing of Node's; and no files import each other in a
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

/**
 * The folders, and the folders each may import (its own always). docs/architecture.md draws it.
 * A new edge is a design decision: add it here and to the map in the same change.
 */
const allowed: Record<string, readonly string[]> = {
  'client/protocol': [],
  client: ['client/protocol'],
  'broker/core': [],
  'lightweight-groups': [],
  'broker/topics': ['client/protocol'],
  'broker/auth': ['client/protocol'],
  'broker/transport': ['client/protocol'],
  'broker/node': ['broker/core', 'broker/topics', 'lightweight-groups', 'client/protocol'],
  'broker/mesh': ['broker/core', 'broker/node', 'broker/topics', 'broker/transport', 'lightweight-groups', 'client/protocol'],
  'broker/server': ['broker/auth', 'broker/topics', 'client/protocol'],
  'broker/main': ['broker/auth', 'broker/core', 'broker/mesh', 'broker/node', 'broker/server', 'broker/topics', 'lightweight-groups', 'client/protocol'],
};

/** The folder of the table a repository path belongs to. */
function folderOf(path: string): string | undefined {
  return Object.keys(allowed)
    .filter((folder) => path.startsWith(`${folder}/`))
    .sort((a, b) => b.length - a.length)[0];
}

/** Protocol logic: deterministic, driven by its inputs alone, so the simulator can run it with a seed. */
const pure = ['broker/core', 'broker/node', 'broker/topics', 'lightweight-groups'];
const impure: Array<[RegExp, string]> = [
  [/\bDate\b/, 'a clock (Date)'],
  [/\bperformance\./, 'a clock (performance)'],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/, 'a timer'],
  [/\bMath\.random\b/, 'randomness'],
  [/\bprocess\./, 'the process'],
  [/\brequire\s*\(/, 'require'],
];

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

  it('every folder imports only the folders its row allows', () => {
    const offences: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      if (from === undefined) {
        offences.push(`${file} is in no folder of the table`);
        continue;
      }
      for (const spec of imports(file)) {
        if (!spec.startsWith('.')) continue;
        const to = folderOf(relative(root, resolve(root, file, '..', spec)));
        if (to !== undefined && to !== from && !allowed[from]!.includes(to)) offences.push(`${file} → ${spec} (${from} may not import ${to})`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('the pure cores read no clock, set no timer, draw no random number and import nothing of Node or the network', () => {
    const offences: string[] = [];
    for (const file of files.filter((f) => pure.some((folder) => f.startsWith(`${folder}/`)))) {
      const code = readFileSync(join(root, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      for (const [pattern, what] of impure) if (pattern.test(code)) offences.push(`${file}: ${what}`);
      for (const spec of imports(file)) if (!spec.startsWith('.') && spec !== 'msgpackr') offences.push(`${file} → ${spec}`);
    }
    expect(offences).toEqual([]);
  });

  it('the purity check catches what it looks for', () => {
    const caught = (code: string): boolean => impure.some(([pattern]) => pattern.test(code));
    for (const bad of ['const t = Date.now();', 'performance.now()', 'setTimeout(f, 1)', 'queueMicrotask(f)', 'Math.random()', 'process.env.X']) expect(caught(bad), bad).toBe(true);
    for (const good of ['const dated = 1;', 'this.options.now()', 'const timeout = 5;']) expect(caught(good), good).toBe(false);
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
