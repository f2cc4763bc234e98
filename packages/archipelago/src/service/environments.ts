// Which units exist where: `localOnly` and `environments` limit a unit to some environments, and
// one function answers for the supervisor (`local`) and for synth (its `--environment`).
import type { ResolvedService, ResolvedUnit } from './types.js';

/** The environment `archipelago up` runs in. */
export const LOCAL_ENVIRONMENT = 'local';

export function runsIn(unit: ResolvedUnit, environment: string): boolean {
  return unit.environments === undefined || unit.environments.includes(environment);
}

export interface OmittedUnit {
  readonly unit: string;
  /** Why it is not part of this environment, e.g. `localOnly` or `environments: local, staging`. */
  readonly reason: string;
}

/** The service as one environment sees it: only the units that exist there, and the ones left out. */
export function forEnvironment(service: ResolvedService, environment: string): { service: ResolvedService; omitted: readonly OmittedUnit[] } {
  const omitted = service.units.filter((u) => !runsIn(u, environment)).map((u): OmittedUnit => ({
    unit: u.name,
    reason: u.environments!.length === 1 && u.environments![0] === LOCAL_ENVIRONMENT ? 'localOnly' : `environments: ${u.environments!.join(', ')}`,
  }));
  if (omitted.length === 0) return { service, omitted };
  return { service: Object.freeze({ ...service, units: Object.freeze(service.units.filter((u) => runsIn(u, environment))) }), omitted };
}
