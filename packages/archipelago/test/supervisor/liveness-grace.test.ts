// A replica restarted for failing its liveness probe gets its unit's whole `grace` to drain (a
// kubelet sends SIGTERM and waits terminationGracePeriodSeconds), not a shorter cut of its own.
import { describe, expect, it, vi } from 'vitest';
import { FAST, status, waitFor } from './helpers.js';
import { embeddedUps } from './embedded-up.js';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });
const ups = embeddedUps();

describe('archipelago up: liveness restarts', () => {
  it('let the replica drain within its grace: the in-flight handler finishes and is acknowledged', async () => {
    // Two missed probes restart a replica; the handler blocks its event loop past that, then needs
    // 8 s more, well past the old 5 s cut and well within slowpoke's 30 s grace.
    const tuning = { ...FAST, probes: { livenessPeriodMs: 300, livenessFailureThreshold: 2, readinessPeriodMs: 300, timeoutMs: 500 } };
    const u = await ups.start([], { CHORE_MS: '8000', BLOCK_MS: '4000', ARCHIPELAGO_SUPERVISOR: JSON.stringify(tuning) });
    const before = (await status(u.dir)).units.find((x) => x.name === 'slowpoke')!.replicaList[0]!;
    await fetch(`http://127.0.0.1:${u.port}/publish?n=1`, { method: 'POST' });
    await waitFor('the liveness restart', () => u.sup.output().includes(`${before.id} failed its liveness probe`), 60_000, 100);
    await waitFor('the chore done', () => u.sup.output().includes('chore 0 done'), 60_000, 200);
    const exit = await waitFor('the replica exited', async () => {
      const r = (await status(u.dir)).units.find((x) => x.name === 'slowpoke')!.replicaList.find((x) => x.id === before.id);
      return r?.lastExit ?? undefined;
    }, 60_000, 200);
    expect(exit).toMatchObject({ code: 0, signal: null, reason: 'liveness probe failed' });
    const out = u.sup.output();
    expect(out).not.toContain(`${before.id} did not stop within its grace`);
    // Handled once: its ack went through, so nobody got it again.
    await waitFor('the replica back', async () => (await status(u.dir)).units.find((x) => x.name === 'slowpoke')!.replicas.ready === 1, 120_000, 300);
    expect(out.match(/handling chore 0/g)?.length).toBe(1);
  });
});
