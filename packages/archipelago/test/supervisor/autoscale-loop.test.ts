// The local autoscaler loop's bookkeeping: it keeps one pending timer per unit however long it
// runs (each round used to push a new timer into a list that was never emptied), and none after stop.
import { describe, expect, it } from 'vitest';
import { resolveService } from '../../src/service/validate.js';
import { AutoscaleLoop } from '../../src/supervisor/autoscale-loop.js';
import { SupervisorState } from '../../src/supervisor/state.js';

describe('autoscale loop', () => {
  it('holds one timer per unit after many rounds, and none once stopped', async () => {
    const service = resolveService({ name: 'shop', units: [
      { name: 'web', kind: 'api', entry: 'web.ts', port: 3000, replicas: { min: 1, max: 3 } },
      { name: 'mailer', kind: 'worker', entry: 'mailer.ts', replicas: { min: 0, max: 3 }, scale: { backlog: 10, polling: '1ms' } },
      { name: 'nightly', kind: 'cron', entry: 'nightly.ts', schedule: '0 3 * * *' },
    ] });
    const state = new SupervisorState(service.name, '/tmp');
    let rounds = 0;
    const loop = new AutoscaleLoop({
      state, logs: { info() {}, warn() {} } as never, pollingMs: 1, enabled: true,
      readBacklog: async () => { rounds++; return { backlog: 0, oldestAgeMs: null }; },
    });
    for (const unit of service.units) loop.add(unit, { replicas: [], desired: unit.replicas.min, setDesired() {} } as never);
    while (rounds < 50) await new Promise((r) => setTimeout(r, 5));
    // Two long-running units (the cron is not autoscaled): one pending timer each.
    expect(loop.pendingTimers).toBe(2);
    loop.stop();
    expect(loop.pendingTimers).toBe(0);
  });
});
