// Backlog and oldest-message age per worker unit, summed over the subscriptions its entry file
// registers (read through the catalog, so no name is kept in sync by hand), from the broker's stats,
// on the supervisor's one broker session.
import type { SubscriptionSpec } from '../messaging/index.js';
import type { ResolvedUnit } from '../service/types.js';
import type { BrokerSession } from './session.js';
import type { BacklogReader } from './autoscale-loop.js';
import { kindOf } from '../service/kinds.js';

export async function brokerBacklogReader(session: BrokerSession, units: readonly ResolvedUnit[], warn: (msg: string) => void): Promise<{ read: BacklogReader }> {
  const none = { read: async () => null };
  if (!units.some((u) => kindOf(u).autoscaledBy === 'backlog')) return none;
  let subscriptions: ReadonlyMap<string, readonly SubscriptionSpec[]>;
  try {
    subscriptions = (await session.catalog()).subscriptions;
  } catch (e) {
    warn(`autoscaler: cannot read the workers' subscriptions, so backlog scaling is off: ${(e as Error).message}`);
    return none;
  }
  // The subscriptions were provisioned before any unit started (supervisor.ts).
  return {
    async read(unit) {
      const subs = subscriptions.get(unit) ?? [];
      if (subs.length === 0) return { backlog: 0, oldestAgeMs: null };
      try {
        const broker = await session.broker();
        let backlog = 0, oldest: number | null = null;
        for (const s of subs) {
          const st = await broker.stats(s.name);
          backlog += st.backlog;
          if (st.oldestAgeMs !== null) oldest = Math.max(oldest ?? 0, st.oldestAgeMs);
        }
        return { backlog, oldestAgeMs: oldest };
      } catch (e) {
        warn(`autoscaler: ${unit}: cannot read the backlog: ${(e as Error).message}`);
        return null;
      }
    },
  };
}
