// When the gateway writes what its sessions hold. The mesh delivers inside a setImmediate (the
// cluster node's perform); a flush scheduled from there with another setImmediate would run only
// in the next pass of the event loop, after that pass's reads. `flushSoon` writes in this pass.
import { describe, expect, it } from 'vitest';
import { Gateway, type GatewayOptions } from '../../broker/server/gateway.js';
import type { Session } from '../../broker/server/session.js';

function gateway(): Gateway {
  // Only the ping sweep's interval is read at construction; nothing here reaches the rest.
  return new Gateway({ pingIntervalMs: 60_000, session: { outboundAgeMaxMs: 60_000 } } as unknown as GatewayOptions);
}

/** A session that only records when it is flushed. */
function recorder(order: string[], name: string): Session {
  return { flush: () => void order.push(name) } as unknown as Session;
}

/**
 * Runs `body` with a new gateway inside a setImmediate, as the cluster node's perform runs;
 * resolves with the order of the flushes and of the next pass, once that pass is over.
 */
function inPerform(body: (g: Gateway, order: string[]) => void): Promise<string[]> {
  const g = gateway();
  return new Promise<string[]>((resolve) =>
    setImmediate(() => {
      const order: string[] = [];
      // Queued before the delivery: it runs in the next pass, as that pass's reads would.
      setImmediate(() => {
        order.push('next pass');
        setImmediate(() => resolve(order));
      });
      body(g, order);
    }),
  ).finally(() => g.stop());
}

describe('gateway flush', () => {
  it('writes sessions scheduled during a perform before the next pass when asked to flush soon', async () => {
    const order = await inPerform((g, o) => {
      g.schedule(recorder(o, 'a'));
      g.schedule(recorder(o, 'b'));
      g.flushSoon();
    });
    expect(order).toEqual(['a', 'b', 'next pass']);
  });

  it('also writes what a microtask queued before flushSoon scheduled (an answer deferred during the perform)', async () => {
    const order = await inPerform((g, o) => {
      queueMicrotask(() => g.schedule(recorder(o, 'deferred')));
      g.flushSoon();
    });
    expect(order).toEqual(['deferred', 'next pass']);
  });

  it('without flushSoon writes at its own setImmediate, one pass later (what flushSoon avoids)', async () => {
    expect(await inPerform((g, o) => g.schedule(recorder(o, 'a')))).toEqual(['next pass', 'a']);
  });

  it('flushes each session once when both the microtask and the scheduled setImmediate run', async () => {
    const order = await inPerform((g, o) => {
      g.schedule(recorder(o, 'a'));
      g.flushSoon();
    });
    expect(order.filter((x) => x === 'a')).toHaveLength(1);
  });

  it('does nothing when no session is waiting', async () => {
    expect(await inPerform((g) => g.flushSoon())).toEqual(['next pass']);
  });
});
