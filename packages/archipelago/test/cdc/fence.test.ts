// Fenced leadership: when the active relay process is frozen (SIGSTOP: its TCP connections stay open,
// as with a node that vanished), a standby takes over, and the old relay, resumed (SIGCONT), does not
// publish another change.
import { describe, expect, it } from 'vitest';
import { relayProcessFixture } from './process-fixture.js';
import { waitFor } from './support.js';

const fx = relayProcessFixture('cdcfence');

const distinct = async (from: number, to: number) => Number((await fx.pool.query<{ n: string }>(
  "SELECT count(DISTINCT id) AS n FROM cdc_sink WHERE topic = 'changes.items' AND (payload->'after'->>'id')::int BETWEEN $1 AND $2", [from, to])).rows[0]!.n);

describe('cdc relay processes: a frozen leader', () => {
  it('loses the lead to a standby, and publishes nothing once resumed', async () => {
    const first = fx.child('fence');
    const second = fx.child('fence');
    const active = [first, second].map((c) => c.waitForLine('relay is active').then(() => c));
    for (const p of active) p.catch(() => {});
    const a = await Promise.race(active);
    const b = a === first ? second : first;
    await b.waitForLine('waiting on standby');
    await waitFor('slot created', async () => (await fx.pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'fence_changes'")).rowCount! > 0, 45_000);
    await fx.pool.query('TRUNCATE cdc_sink');
    await fx.burst(1, 200, 20);
    await waitFor('the leader relays', async () => (await distinct(1, 200)) === 200, 60_000);

    process.kill(a.proc.pid!, 'SIGSTOP');
    const frozenAt = Date.now();
    // Written while it is frozen: its walsender may still push them into its socket.
    await fx.burst(1000, 300, 30);
    await b.waitForLine('relay is active', 120_000);
    const tookOverMs = Date.now() - frozenAt;
    await waitFor('the new leader relays what was written meanwhile', async () => (await distinct(1000, 1299)) === 300, 120_000);
    const before = Number((await fx.pool.query<{ n: string }>('SELECT coalesce(max(seq), 0) AS n FROM cdc_sink')).rows[0]!.n);

    process.kill(a.proc.pid!, 'SIGCONT');
    await a.waitForLine('waiting on standby', 60_000);
    await fx.burst(2000, 100, 10);
    await waitFor('changes after the resume relayed', async () => (await distinct(2000, 2099)) === 100, 120_000);
    const late = await fx.pool.query<{ n: string }>('SELECT count(*) AS n FROM cdc_sink WHERE by = $1 AND seq > $2', [a.proc.pid, before]);
    expect(Number(late.rows[0]!.n)).toBe(0);
    for (const [from, count] of [[1, 200], [1000, 300], [2000, 100]] as const) await fx.expectAllDelivered(from, count);
    console.log(`standby took over ${tookOverMs} ms after the active relay was frozen`);
  }, 300_000);
});
