/** The version and commit this broker was built from (dist/build-info.json, written by the build). */
import { readFile } from 'node:fs/promises';

export async function buildInfo(): Promise<{ version: string; commit: string }> {
  for (const candidate of ['../../build-info.json', '../../dist/build-info.json']) {
    try {
      const info = JSON.parse(await readFile(new URL(candidate, import.meta.url), 'utf8')) as { version?: unknown; commit?: unknown };
      if (typeof info.version === 'string' && typeof info.commit === 'string') return { version: info.version, commit: info.commit };
    } catch {
      // try the next place
    }
  }
  return { version: 'unknown', commit: 'unknown' };
}
