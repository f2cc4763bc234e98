// Provisioning from the declaration: every subscription a worker's entry file declares (read through
// the catalog, whether or not its worker runs) is created on the broker before anything publishes,
// so a worker at zero replicas loses nothing. Subscriptions no longer declared are reported as
// orphaned and removed only when asked.
import type { Catalog } from '../service/catalog.js';
import { loadCatalog } from '../service/catalog.js';
import type { ResolvedService } from '../service/types.js';
import type { Broker, RegisteredSubscription, SubscriptionSpec } from './broker.js';
import { createBroker } from './index.js';

export interface ProvisionResult {
  /** Every declared subscription, now present on the broker. */
  readonly subscriptions: readonly SubscriptionSpec[];
  /** Registered on the broker, declared by no unit any more (kept until removed on purpose). */
  readonly orphaned: readonly RegisteredSubscription[];
  /** Removed because `prune` was asked. */
  readonly removed: readonly string[];
}

export function declaredSubscriptions(catalog: Pick<Catalog, 'subscriptions'>): SubscriptionSpec[] {
  return [...catalog.subscriptions.values()].flat();
}

/** Subscriptions the broker has that no unit declares. */
export async function orphanedSubscriptions(broker: Broker, declared: readonly SubscriptionSpec[]): Promise<RegisteredSubscription[]> {
  const names = new Set(declared.map((s) => s.name));
  return (await broker.listSubscriptions()).filter((r) => !names.has(r.name));
}

/** Creates the broker's tables or stream and every declared subscription; idempotent. */
export async function provision(service: ResolvedService, broker: Broker, opts: { catalog?: Catalog; prune?: boolean } = {}): Promise<ProvisionResult> {
  const catalog = opts.catalog ?? await loadCatalog(service);
  const declared = declaredSubscriptions(catalog);
  await broker.init();
  for (const spec of declared) await broker.ensureSubscription(spec);
  const orphaned = await orphanedSubscriptions(broker, declared);
  const removed: string[] = [];
  if (opts.prune) {
    for (const o of orphaned) { await broker.removeSubscription(o.name); removed.push(o.name); }
  }
  return { subscriptions: declared, orphaned: opts.prune ? [] : orphaned, removed };
}

/** Provisions `service` on the database at `url`, printing one line per fact; shared with `migrate`. */
export async function provisionService(service: ResolvedService, url: string, opts: { prune?: boolean; log?: (line: string) => void; broker?: Broker } = {}): Promise<ProvisionResult> {
  const log = opts.log ?? ((l) => console.log(l));
  // A broker the caller owns (the supervisor's session) stays open; one opened here is closed.
  const broker = opts.broker ?? createBroker(service, { databaseUrl: url, warn: (msg, err) => console.error(`warning: ${msg}${err ? `: ${String(err)}` : ''}`) });
  try {
    const r = await provision(service, broker, { prune: opts.prune });
    log(`provisioned ${r.subscriptions.length} subscription${r.subscriptions.length === 1 ? '' : 's'} on the ${service.broker.kind} broker${r.subscriptions.length ? `: ${r.subscriptions.map((s) => s.name).join(', ')}` : ''}`);
    for (const o of r.orphaned) log(`orphaned: subscription "${o.name}" (topic "${o.topic}", unit "${o.unit}") is declared by no unit; \`archipelago provision --prune\` removes it with its messages`);
    for (const name of r.removed) log(`removed orphaned subscription "${name}" with its waiting messages and dead letters`);
    return r;
  } finally {
    if (!opts.broker) await broker.close();
  }
}

