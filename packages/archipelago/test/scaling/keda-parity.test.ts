// The local decision equals what the emitted ScaledObject (KEDA in front of the HPA) would compute
// for the same readings. The cluster side is evaluated here from the emitted object alone, by KEDA's
// documented rules: each postgresql trigger's query value against its target (AverageValue: value ÷
// target; Value: current × value ÷ target; 10% tolerance), the highest wins, activation wakes a unit
// at zero to max(min, 1), then min/max.
import { describe, expect, it } from 'vitest';
import { createAutoscaler } from '../../src/scaling/index.js';
import type { ResolvedWorkerUnit, UnitInput } from '../../src/service/types.js';
import { synthesize, type K8sObject } from '../../src/synth/index.js';
import { options, referenceService } from '../synth/fixture.js';

interface Trigger { type: string; name: string; metricType: 'AverageValue' | 'Value'; metadata: Record<string, string> }

/** What KEDA + the HPA do with one reading, from the ScaledObject alone (no stabilisation: windows are 0 below). */
function cluster(so: { spec: { minReplicaCount: number; maxReplicaCount: number; triggers: Trigger[] } }, current: number, readings: Record<string, number>): number {
  const { minReplicaCount: min, maxReplicaCount: max, triggers } = so.spec;
  const value = (t: Trigger) => readings[t.metadata.query!.startsWith('SELECT count(*)') ? 'backlog' : 'ageSeconds']!;
  if (current === 0) return triggers.some((t) => value(t) > Number(t.metadata.activationTargetQueryValue)) ? Math.max(min, 1) : 0;
  const desired = Math.max(...triggers.map((t) => {
    const target = Number(t.metadata.targetQueryValue);
    const ratio = t.metricType === 'AverageValue' ? value(t) / (target * current) : value(t) / target;
    if (Math.abs(ratio - 1) <= 0.1) return current;
    return t.metricType === 'AverageValue' ? Math.ceil(value(t) / target) : Math.ceil(current * ratio);
  }));
  return Math.min(Math.max(desired, Math.max(min, 1)), max);
}

const unitInput: UnitInput = { name: 'digest', kind: 'worker', entry: 'src/units/digest.ts', replicas: { min: 0, max: 12 },
  scale: { backlog: 20, age: '30s', activation: 5, behavior: { scaleUp: { policies: [{ type: 'percent', value: 1000, period: '15s' }] }, scaleDown: { stabilization: '0s' } } } };
const service = referenceService({ units: [unitInput] });
const unit = service.units.find((u) => u.name === 'digest') as ResolvedWorkerUnit;
const so = (synthesize(service, options).objects as K8sObject[]).find((o) => o.kind === 'ScaledObject' && o.metadata?.name === 'app-api-digest') as unknown as Parameters<typeof cluster>[0];

describe('local autoscaler vs the emitted ScaledObject + HPA', () => {
  it('emits both triggers: backlog (AverageValue) and age (Value, in seconds)', () => {
    expect(so.spec.triggers.map((t) => [t.name, t.metricType, t.metadata.targetQueryValue, t.metadata.activationTargetQueryValue])).toEqual([
      ['backlog', 'AverageValue', '20', '5'], ['age', 'Value', '30', '30'],
    ]);
  });

  it.each([
    // [current, backlog, oldest age s]
    [0, 3, 10], [0, 6, 10], [0, 3, 45], [0, 0, 0],
    [1, 100, 5], [2, 100, 5], [4, 100, 5], [4, 84, 5], [4, 88, 5],
    [1, 10, 90], [3, 10, 90], [3, 10, 32], [3, 10, 34], [5, 400, 300], [6, 10, 10], [2, 0, 0],
  ])('current %i, backlog %i, oldest %is: same replica count', (current, backlog, ageSeconds) => {
    const local = createAutoscaler(unit).decide({ now: 0, current, metrics: { backlog, oldestAgeMs: backlog === 0 ? null : ageSeconds * 1000 } }).to;
    // A fresh local autoscaler counts its cooldown from its first reading, as KEDA's initialCooldownPeriod does: no scale to zero in one step.
    expect(local, `local ${local}`).toBe(cluster(so, current, { backlog, ageSeconds }));
  });
});
