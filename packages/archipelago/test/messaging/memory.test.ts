// The in-memory broker's own behaviour beyond the conformance suite: close and isolation of copies.
import { describe, expect, it } from 'vitest';
import { createMemoryBroker } from '../../src/messaging/index.js';

const spec = { name: 's', topic: 't', unit: 'u', concurrency: 1, maxAttempts: 3, backoff: { initialMs: 1, maxMs: 1, factor: 1 }, deadlineMs: 1000 };

describe('memory broker', () => {
  it('close is idempotent, stops consumers and refuses later work', async () => {
    const b = createMemoryBroker();
    await b.ensureSubscription(spec);
    const h = await b.consume(spec, async () => ({ ok: true }));
    await Promise.all([b.close(), b.close()]);
    expect(h.inFlight).toBe(0);
    await expect(b.publish('t', [])).rejects.toMatchObject({ code: 'ARCH_E_BROKER', message: 'the broker is closed' });
  });

  it('hands handlers a copy, so a handler mutating its payload cannot change a retry', async () => {
    const b = createMemoryBroker();
    await b.ensureSubscription(spec);
    const seen: unknown[] = [];
    const h = await b.consume(spec, async (d) => {
      seen.push(structuredClone(d.payload));
      (d.payload as { n: number }).n = 99;
      return d.attempt === 1 ? { ok: false, error: 'again' } : { ok: true };
    });
    await b.publish('t', [{ id: 'a', payload: { n: 1 }, publishedAt: new Date() }]);
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 5));
    await h.stop(100);
    expect(seen).toEqual([{ n: 1 }, { n: 1 }]);
    await b.close();
  });
});
