// Reads what each unit's entry file declares (subscriptions, broadcasts, published topics) by
// importing it, without running it. One source for the supervisor, synth and `archipelago topics`.
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import type { SubscriptionSpec } from '../messaging/broker.js';
import type { UnitDefinition } from '../units/define.js';
import { importServiceModule } from './typescript.js';
import type { ResolvedService, ResolvedUnit } from './types.js';
import { KINDS } from './kinds.js';
import { changeTopicName } from '../messaging/names.js';


export async function loadDefinition(unit: ResolvedUnit): Promise<UnitDefinition | undefined> {
  if (!unit.entryPath) return undefined;
  let mod: { default?: unknown };
  try {
    mod = await importServiceModule(unit.entryPath, path.dirname(unit.entryPath));
  } catch (e) {
    if (e instanceof ArchipelagoError) throw e;
    throw new ArchipelagoError('ARCH_E_ENTRY_EXPORT', `units[${unit.index}] "${unit.name}": entry ${unit.entry} failed to load: ${(e as Error).message}`);
  }
  const def = mod.default as UnitDefinition | undefined;
  const want: UnitDefinition['kind'] | undefined = KINDS[unit.kind].entryExport;
  if (!def || typeof def !== 'object' || def.kind !== want) {
    throw new ArchipelagoError('ARCH_E_ENTRY_EXPORT',
      `units[${unit.index}] "${unit.name}": entry ${unit.entry} must default-export ${want}(...) for a ${unit.kind} unit (got ${def && typeof def === 'object' ? `a ${String((def as { kind?: unknown }).kind)} definition` : typeof def})`);
  }
  return def;
}

import { subscriptionSpec } from '../messaging/spec.js';
export { subscriptionSpec, SUBSCRIPTION_DEFAULTS } from '../messaging/spec.js';

export interface Catalog {
  readonly definitions: ReadonlyMap<string, UnitDefinition>;
  /** Subscriptions per owning unit. */
  readonly subscriptions: ReadonlyMap<string, readonly SubscriptionSpec[]>;
  /** Topic names some unit declares it publishes. */
  readonly published: ReadonlySet<string>;
  readonly warnings: readonly string[];
}

/** Imports every unit's entry; rejects a subscription name used twice; warns about unheard topics. */
export async function loadCatalog(service: ResolvedService, opts: { extraPublished?: Iterable<string> } = {}): Promise<Catalog> {
  const definitions = new Map<string, UnitDefinition>();
  const subscriptions = new Map<string, SubscriptionSpec[]>();
  const published = new Set<string>(opts.extraPublished ?? []);
  const owners = new Map<string, string>();
  const errors: string[] = [];
  for (const unit of service.units) {
    if (unit.kind === 'cdc') {
      for (const t of unit.tables) published.add(changeTopicName(unit.name, t));
      continue;
    }
    const def = await loadDefinition(unit);
    if (!def) continue;
    definitions.set(unit.name, def);
    for (const t of def.publishes) published.add(t.name);
    if (def.kind === 'worker') {
      const specs: SubscriptionSpec[] = [];
      for (const s of def.subscriptions) {
        const owner = owners.get(s.name);
        if (owner !== undefined) errors.push(`subscription "${s.name}" is declared by unit "${owner}" and again by unit "${unit.name}"`);
        owners.set(s.name, unit.name);
        specs.push(subscriptionSpec(unit.name, s));
      }
      subscriptions.set(unit.name, specs);
    }
  }
  if (errors.length) throw new ArchipelagoError('ARCH_E_SUBSCRIPTION_DUPLICATE', errors.join('\n'), errors);
  const warnings: string[] = [];
  for (const [unit, specs] of subscriptions) {
    for (const s of specs) {
      if (!published.has(s.topic)) warnings.push(`unit "${unit}": subscription "${s.name}" listens to topic "${s.topic}", which no unit declares it publishes`);
    }
  }
  return { definitions, subscriptions, published, warnings };
}

/** The change topic the cdc unit `unit` publishes a table's row changes to. */
export { changeTopicName } from '../messaging/names.js';
