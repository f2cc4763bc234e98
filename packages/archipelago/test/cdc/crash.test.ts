// A relay as a child process SIGKILLed during a 10,000-row burst and restarted delivers every
// change at least once and none is missing.
import { describe, it } from 'vitest';
import { relayProcessFixture } from './process-fixture.js';
import { waitFor } from './support.js';

const fx = relayProcessFixture('cdccrash');

describe('cdc relay processes', () => {
  it('loses nothing when the relay is SIGKILLed during a 10,000-row burst and restarted', async () => {
    const a = fx.child('crash');
    await a.waitForLine('relay is active');
    await waitFor('slot in use', async () => (await fx.pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'crash_changes' AND active")).rowCount! > 0, 45_000);
    const writing = fx.burst(0, 10_000, 100);
    await waitFor('first changes delivered', async () => (await fx.delivered('changes.items')) >= 1000, 30_000, 20);
    await a.kill('SIGKILL');
    const atKill = await fx.delivered('changes.items');
    await writing;
    const b = fx.child('crash');
    await b.waitForLine('relay is active');
    await waitFor('all 10,000 changes', async () => (await fx.pool.query<{ n: string }>(
      "SELECT count(DISTINCT id) AS n FROM cdc_sink WHERE topic = 'changes.items'")).rows[0]!.n === '10000', 40_000, 200);
    const replays = await fx.expectAllDelivered(0, 10_000);
    console.log(`SIGKILL at ${atKill}/10000 delivered; ${replays} changes replayed after restart`);
  }, 90_000);

});
