/**
 * Pages the broker serves from its own folders (the examples, the admin page): the plain files of
 * one folder, read once at start-up, by name. One level only — a request names a file, never a
 * path, so nothing outside the folder can be asked for — and no folder or link in it is followed.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

export type PlainFiles = Map<string, { type: string; bytes: Buffer }>;

export const webContentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The files of the first of `dirs` (URLs relative to `from`: the folder sits beside the source in
 * the repository and beside `dist/` when built) that holds any, keeping the names whose extension
 * `types` knows.
 */
export async function plainFiles(dirs: readonly string[], from: string, types: Readonly<Record<string, string>> = webContentTypes): Promise<PlainFiles> {
  for (const relative of dirs) {
    const dir = new URL(relative, from);
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    const files: PlainFiles = new Map();
    for (const entry of entries) {
      const type = types[entry.name.slice(entry.name.lastIndexOf('.'))];
      if (entry.isFile() && type !== undefined) files.set(entry.name, { type, bytes: await readFile(new URL(entry.name, dir)) });
    }
    if (files.size > 0) return files;
  }
  return new Map();
}
