/**
 * Where the browser tests find Chromium (Debian's, driven by playwright-core): CHROMIUM_PATH, or
 * `chromium` on the PATH. Outside CI a machine without it skips those tests with a warning; in CI
 * they always run (and fail without one).
 */
import { execFileSync } from 'node:child_process';

export function findChromium(): string | undefined {
  if (process.env['CHROMIUM_PATH']) return process.env['CHROMIUM_PATH'];
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether the browser tests named `what` run here; says why not when they do not. */
export function chromiumAvailable(what: string): { path: string | undefined; canRun: boolean } {
  const path = findChromium();
  const canRun = path !== undefined || process.env['CI'] !== undefined;
  if (!canRun) console.warn(`${what} skipped: no Chromium found (set CHROMIUM_PATH or install chromium; in CI it always runs)`);
  return { path, canRun };
}
