// Resolved units for the scaling tests, built through the real validator so defaults match.
import { resolveService } from '../../src/service/index.js';
import type { ResolvedApiUnit, ResolvedWorkerUnit } from '../../src/service/types.js';

export function apiUnit(fields: Record<string, unknown> = {}): ResolvedApiUnit {
  const s = resolveService({ name: 'svc', units: [{ name: 'api', kind: 'api', entry: 'api.ts', port: 3000, ...fields }] });
  return s.units[0] as ResolvedApiUnit;
}

export function workerUnit(fields: Record<string, unknown> = {}): ResolvedWorkerUnit {
  const s = resolveService({ name: 'svc', units: [{ name: 'work', kind: 'worker', entry: 'work.ts', ...fields }] });
  return s.units[0] as ResolvedWorkerUnit;
}
