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

/** Runs `body` inside a setImmediate, as the cluster node's perform runs; resolves with the order after the next pass. */
function inPerform(body: (order: string[]) => void): Promise<string[]> {
  return new Promise((resolve) =>
    setImmediate(() => {
      const order: string[] = [];
      // Queued before the delivery: it runs in the next pass, as that pass's reads would.
      setImmediate(() => {
        order.push('next pass');
        setImmediate(() => resolve(order));
      });
      body(order);
    }),
  );
}

describe('gateway flush', () => {
  it('writes sessions scheduled during a perform before the next pass when asked to flush soon', async () => {
    const g = gateway();
    try {
      const order = await inPerform((o) => {
        g.schedule(recorder(o, 'a'));
        g.schedule(recorder(o, 'b'));
        g.flushSoon();
      });
      expect(order).toEqual(['a', 'b', 'next pass']);
    } finally {
      g.stop();
    }
  });

  it('also writes what a microtask queued before flushSoon scheduled (an answer deferred during the perform)', async () => {
    const g = gateway();
    try {
      const order = await inPerform((o) => {
        queueMicrotask(() => g.schedule(recorder(o, 'deferred')));
        g.flushSoon();
      });
      expect(order).toEqual(['deferred', 'next pass']);
    } finally {
      g.stop();
    }
  });

  it('without flushSoon writes at its own setImmediate, one pass later (what flushSoon avoids)', async () => {
    const g = gateway();
    try {
      const order = await inPerform((o) => g.schedule(recorder(o, 'a')));
      expect(order).toEqual(['next pass', 'a']);
    } finally {
      g.stop();
    }
  });

  it('flushes each session once when both the microtask and the scheduled setImmediate run', async () => {
    const g = gateway();
    try {
      const order = await inPerform((o) => {
        g.schedule(recorder(o, 'a'));
        g.flushSoon();
      });
      expect(order.filter((x) => x === 'a')).toHaveLength(1);
    } finally {
      g.stop();
    }
  });

  it('does nothing when no session is waiting', async () => {
    const g = gateway();
    try {
      expect(await inPerform(() => g.flushSoon())).toEqual(['next pass']);
    } finally {
      g.stop();
    }
  });
});
