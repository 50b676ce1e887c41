/**
 * Smoke test of the side-by-side benchmark (`npm run bench -- --peers`, bench/peers/): runs
 * its entry with tiny workloads (a second or two each, a few connections) for the Chorus
 * broker with the official client and with the lean protocol-2 client, and for both raw
 * `ws` relays (one frame per message, corked per inbound frame; coalescing), and checks that every run finished, delivered everything
 * and (Chorus) saw no seq gap or duplicate. Needs dist/ (npm test builds it).
 * The entry kills its own servers and load generators by PID when it gets SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const entry = join(root, 'bench', 'fanout.mjs');
const dir = mkdtempSync(join(tmpdir(), 'chorus-peers-smoke-'));
let child: ChildProcess | undefined;

const running = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null;
process.on('exit', () => {
  if (running(child)) child.kill('SIGTERM');
});

afterAll(async () => {
  if (running(child)) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  peer: string;
  workload: string;
  ok: boolean;
  error?: string;
  deliveryRatio?: number;
  published?: number;
  gaps?: number;
  duplicates?: number;
  opened?: number;
  errors?: number;
  disconnects?: number;
}

describe('bench --peers', () => {
  it('runs W1–W4 for chorus-client, chorus-lean, rawws and rawws-batched: everything delivered, no seq gap', async () => {
    expect(existsSync(join(root, 'dist', 'broker', 'main', 'cli.js')), 'dist/ is built').toBe(true);
    const args = [
      entry,
      '--peers',
      '--only', 'chorus-client,chorus-lean,rawws,rawws-batched',
      '--seconds', '0.5',
      '--warmup', '0.2',
      '--w1-subscribers', '10',
      '--w2-topics', '200',
      '--w2-connections', '20',
      '--w3-subscribers', '5',
      '--w3-rate', '500',
      '--w4-connections', '50',
      '--w4-batch', '25',
      '--w4-settle', '0.2',
      '--quiet-wait', '0',
      '--retries', '0',
      '--out-dir', dir,
    ];
    child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolveExit) => {
      const timer = setTimeout(() => child!.kill('SIGTERM'), 80_000);
      child!.once('exit', (c) => {
        clearTimeout(timer);
        resolveExit(c);
      });
    });
    expect(code, `exit code; stderr:\n${stderr.slice(-3000)}`).toBe(0);

    const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as { json: string; md: string };
    const doc = JSON.parse(readFileSync(last.json, 'utf8')) as { runs: Run[] };
    expect(doc.runs.map((r) => `${r.peer} ${r.workload}`)).toEqual(
      ['chorus-client', 'chorus-lean', 'rawws', 'rawws-batched'].flatMap((p) => ['W1', 'W2', 'W3', 'W4'].map((w) => `${p} ${w}`)),
    );
    for (const r of doc.runs) {
      const what = `${r.peer} ${r.workload}: ${JSON.stringify(r).slice(0, 600)}`;
      expect(r.ok, what).toBe(true);
      expect(r.errors, what).toBe(0);
      expect(r.disconnects, what).toBe(0);
      if (r.workload === 'W4') {
        expect(r.opened, what).toBe(50);
        continue;
      }
      expect(r.published, what).toBeGreaterThan(0);
      expect(r.deliveryRatio, what).toBe(1);
      if (r.peer.startsWith('chorus')) {
        expect(r.gaps, what).toBe(0);
        expect(r.duplicates, what).toBe(0);
      }
    }
    const md = readFileSync(last.md, 'utf8');
    expect(md).toContain('## Summary');
    expect(md).toContain('chorus-lean ÷ rawws-batched');
  }, 90_000);
});
