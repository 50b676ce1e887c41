// Keeps the documentation navigable inside a clone: every relative link in README.md and docs/
// points at a file of the repository (nothing outside it), and the map names every folder of code.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('documentation', () => {
  it('links only to files inside the repository, and each exists', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (target === '' || /^[a-z]+:/i.test(target)) continue;
        const path = resolve(root, dirname(page), target);
        if (relative(root, path).startsWith('..') || !existsSync(path)) broken.push(`${page} → ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the architecture map names every folder of code', () => {
    const map = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
    const folders = ['client/protocol', 'lightweight-groups', ...readdirSync(join(root, 'broker')).map((f) => `broker/${f}`)];
    expect(folders.filter((f) => !map.includes(f))).toEqual([]);
  });
});
