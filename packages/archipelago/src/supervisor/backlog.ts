// Backlog and oldest-message age per worker unit, summed over the subscriptions its entry file
// registers (read through the catalog, so no name is kept in sync by hand), from the broker's stats.
import { createBroker, type SubscriptionSpec } from '../messaging/index.js';
import { loadCatalog } from '../service/catalog.js';
import type { ResolvedService, ResolvedUnit } from '../service/types.js';
import type { BacklogReader } from './autoscale.js';
import { kindOf } from '../service/kinds.js';

export async function brokerBacklogReader(service: ResolvedService, databaseUrl: string, units: readonly ResolvedUnit[], warn: (msg: string) => void): Promise<{ read: BacklogReader; close(): Promise<void> }> {
  const none = { read: async () => null, close: async () => {} };
  if (!units.some((u) => kindOf(u).autoscaledBy === 'backlog')) return none;
  let subscriptions: ReadonlyMap<string, readonly SubscriptionSpec[]>;
  try {
    subscriptions = (await loadCatalog(service)).subscriptions;
  } catch (e) {
    warn(`autoscaler: cannot read the workers' subscriptions, so backlog scaling is off: ${(e as Error).message}`);
    return none;
  }
  const broker = createBroker(service, { databaseUrl, warn: (w: unknown) => warn(`broker: ${w instanceof Error ? w.message : String(w)}`) });
  let ready: Promise<void> | undefined;
  // Subscriptions exist before any replica runs, so a worker at zero still sees its backlog grow.
  const prepare = () => (ready ??= (async () => {
    await broker.init();
    for (const specs of subscriptions.values()) for (const spec of specs) await broker.ensureSubscription(spec);
  })().catch((e: unknown) => { ready = undefined; throw e; }));
  try {
    await prepare();
  } catch (e) {
    warn(`broker: cannot prepare the subscriptions yet: ${(e as Error).message}`);
  }
  return {
    async read(unit) {
      const subs = subscriptions.get(unit) ?? [];
      if (subs.length === 0) return { backlog: 0, oldestAgeMs: null };
      try {
        await prepare();
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
    close: () => broker.close(),
  };
}
