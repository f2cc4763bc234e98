// A hot standby relay process takes over when the active relay process is SIGKILLed mid-stream,
// and every change still arrives.
import { describe, expect, it } from 'vitest';
import { relayProcessFixture } from './process-fixture.js';
import { waitFor } from './support.js';

const fx = relayProcessFixture('cdcstandby');

describe('cdc relay processes', () => {
  it('a standby process takes over when the active relay is killed', async () => {
    // Both start together (process start-up dominates); whichever wins the lock is the active one.
    const first = fx.child('pair');
    const second = fx.child('pair');
    const active = [first, second].map((c) => c.waitForLine('relay is active').then(() => c));
    for (const p of active) p.catch(() => {}); // the loser's wait ends when it is killed
    const winner = await Promise.race(active);
    const a = winner;
    const b = winner === first ? second : first;
    await b.waitForLine('waiting on standby');
    // The active relay logs "active" once its slot exists; changes committed before that are not in it.
    await waitFor('slot created', async () => (await fx.pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'pair_changes'")).rowCount! > 0, 45_000);
    expect(b.output.some((l) => l.includes('relay is active'))).toBe(false);
    await fx.pool.query('TRUNCATE cdc_sink');
    const writing = fx.burst(20_000, 2000, 50);
    await waitFor('first changes delivered', async () => (await fx.delivered('changes.items')) >= 300, 30_000, 20);
    await a.kill('SIGKILL');
    const killedAt = Date.now();
    await b.waitForLine('relay is active');
    const tookOverMs = Date.now() - killedAt;
    await writing;
    await waitFor('all 2,000 changes', async () => (await fx.pool.query<{ n: string }>(
      "SELECT count(DISTINCT id) AS n FROM cdc_sink WHERE topic = 'changes.items'")).rows[0]!.n === '2000', 120_000, 200);
    await fx.expectAllDelivered(20_000, 2000);
    console.log(`standby took over ${tookOverMs} ms after the active relay was killed`);
  }, 240_000);
});
