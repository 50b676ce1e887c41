#!/usr/bin/env node
/**
 * The load generator: one process (pinned to core 1 by the runner) holding the
 * publisher and every subscriber of one run, each on its own connection, all made with
 * one adapter. Driven over the IPC channel by runner.mjs:
 *
 *   { cmd: 'setup', adapter, url, workload, params }  -> { type: 'ready', setupS }
 *   { cmd: 'go' }                                      (W1–W3: start publishing)
 *   { cmd: 'start' } / { cmd: 'end' }                  -> { type: 'result', ... }
 *   { cmd: 'open' }                                    -> { type: 'opened', ... }   (W4)
 *   { cmd: 'close' }                                   -> { type: 'closed', ... }   (W4)
 *   { cmd: 'exit' }
 *
 * Any failure is answered { type: 'error', message }. The process exits when its
 * parent goes away (the IPC channel closes).
 */
import { performance } from 'node:perf_hooks';
import { WORKLOADS } from './workloads.mjs';

let run = null;

const reply = (m) => process.send?.(m);

process.on('message', async (m) => {
  try {
    switch (m.cmd) {
      case 'setup': {
        const t0 = performance.now();
        const adapter = await import(m.adapter);
        run = await WORKLOADS[m.workload](adapter, m.url, m.params);
        return reply({ type: 'ready', setupS: Math.round(performance.now() - t0) / 1000 });
      }
      case 'go':
        return run.go();
      case 'start':
        return run.start();
      case 'end':
        return reply({ type: 'result', ...(await run.end()) });
      case 'open':
        return reply({ type: 'opened', ...(await run.open()) });
      case 'close':
        return reply({ type: 'closed', ...(await run.close()) });
      case 'exit':
        return process.exit(0);
      default:
        throw new Error(`unknown command ${m.cmd}`);
    }
  } catch (err) {
    reply({ type: 'error', message: err?.stack ?? String(err) });
  }
});
process.on('disconnect', () => process.exit(1));
// An orderly exit on SIGTERM (the runner stops it so), so that a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0));
process.on('uncaughtException', (err) => {
  reply({ type: 'error', message: `uncaught: ${err?.stack ?? err}` });
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  reply({ type: 'error', message: `unhandled rejection: ${err?.stack ?? err}` });
  process.exit(1);
});
