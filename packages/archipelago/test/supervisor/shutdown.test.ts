// Ctrl-C on `archipelago up` as a terminal sends it: SIGINT to the whole foreground process group.
// The embedded PostgreSQL must not get it; the units drain in reverse order, in-flight work finishes
// and is acknowledged, the database stops last, and nothing survives.
import { describe, expect, it, vi } from 'vitest';
import { groupMembers, waitFor } from './helpers.js';
import { afterwards, alive, embeddedUps, postmasterPid } from './embedded-up.js';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });
const ups = embeddedUps();

const lines = (out: string) => out.split('\n');
const indexOf = (out: string, re: RegExp) => lines(out).findIndex((l) => re.test(l));
const lastIndexOf = (out: string, re: RegExp) => lines(out).findLastIndex((l) => re.test(l));

describe('archipelago up: Ctrl-C', () => {
  it('drains units in reverse order while the database runs, then stops the database, and nothing survives', async () => {
    const u = await ups.start([], { CHORE_MS: '4000' });
    const postmaster = postmasterPid(u.dir);
    expect(alive(postmaster)).toBe(true);
    await fetch(`http://127.0.0.1:${u.port}/publish?n=4`, { method: 'POST' });
    await waitFor('4 chores in flight', () => (u.sup.output().match(/handling chore/g)?.length ?? 0) >= 4, 60_000);
    const slow = fetch(`http://127.0.0.1:${u.port}/slow?id=slow-1&ms=6000`, { method: 'POST' }).then((r) => r.status);
    await waitFor('slow request in flight', () => u.sup.output().includes('serving slow slow-1'), 30_000);

    process.kill(-u.sup.pid, 'SIGINT'); // what a terminal does on Ctrl-C
    expect(await slow).toBe(200);
    expect(await u.sup.exited).toBe(0);
    const out = u.sup.output();
    expect(out).not.toMatch(/Connection terminated unexpectedly|terminating connection due to administrator command/);
    // Not a crash: nothing restarted, no replica died of an error mid-drain.
    expect(out).not.toMatch(/restarting in|uncaught exception|unhandled rejection/);
    // Reverse declaration order, each unit drained before the next is stopped, the database last.
    const stopping = ['changes', 'slowpoke', 'web'].map((n) => indexOf(out, new RegExp(`stopping ${n}$`)));
    expect(stopping.every((i) => i >= 0)).toBe(true);
    expect([...stopping].sort((a, b) => a - b)).toEqual(stopping);
    expect(lastIndexOf(out, /^slowpoke\/.*drained/)).toBeGreaterThan(stopping[1]!);
    expect(lastIndexOf(out, /^slowpoke\/.*drained/)).toBeLessThan(stopping[2]!);
    const dbStopped = indexOf(out, /embedded PostgreSQL stopped/);
    expect(dbStopped).toBeGreaterThan(lastIndexOf(out, /^web\/.*drained/));
    expect(dbStopped).toBeGreaterThan(lastIndexOf(out, /^changes\/.*drained/));
    // Nothing survives: not the replicas (the supervisor's group) nor the postmaster (its own session).
    await waitFor('no survivors', () => groupMembers(u.sup.pid).length === 0 && !alive(postmaster), 15_000);

    // Every in-flight handler finished and its ack reached the queue.
    const { notes, queued } = await afterwards(u.dir, async (c) => ({
      notes: (await c.query<{ id: string }>('SELECT id FROM notes ORDER BY id')).rows.map((r) => r.id),
      queued: Number((await c.query<{ n: string }>("SELECT count(*) AS n FROM archipelago.queue WHERE subscription = 'slowpoke-chores'")).rows[0]!.n),
    }));
    expect(notes).toEqual(['chore-0', 'chore-1', 'chore-2', 'chore-3', 'slow-1']);
    expect(queued).toBe(0);
  });

  it('stops everything at once on a second Ctrl-C, the database too', async () => {
    const u = await ups.start([], { CHORE_MS: '600000' });
    const postmaster = postmasterPid(u.dir);
    await fetch(`http://127.0.0.1:${u.port}/publish?n=2`, { method: 'POST' });
    await waitFor('chores in flight', () => (u.sup.output().match(/handling chore/g)?.length ?? 0) >= 2, 60_000);
    process.kill(-u.sup.pid, 'SIGINT');
    await waitFor('draining slowpoke', () => u.sup.output().includes('stopping slowpoke'), 30_000);
    process.kill(-u.sup.pid, 'SIGINT');
    expect(await u.sup.exited).toBe(130);
    await waitFor('no survivors', () => groupMembers(u.sup.pid).length === 0 && !alive(postmaster), 15_000);
    expect(u.sup.output()).not.toMatch(/embedded PostgreSQL stopped/);
  });

  it('leaves no process, the database neither, when the supervisor itself is SIGKILLed', async () => {
    const u = await ups.start();
    const postmaster = postmasterPid(u.dir);
    expect(alive(postmaster)).toBe(true);
    process.kill(u.sup.pid, 'SIGKILL');
    await u.sup.exited;
    // The replicas lose their IPC channel; the database, outside the group, gets its parent-death signal.
    await waitFor('no survivors', () => groupMembers(u.sup.pid).length === 0 && !alive(postmaster), 60_000);
  });
});
