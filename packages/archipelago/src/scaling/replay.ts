// Replays a metric trace through a unit's scaling rules: what the local autoscaler (and the HPA/KEDA
// synth emits) would have done with the same readings, at the same times.
import type { ResolvedUnit } from '../service/types.js';
import { createAutoscaler, type Metrics } from './autoscaler.js';

/** One reading at `at` (ms); `current`, when given, is the replica count the recording started from. */
export interface TraceSample { readonly at: number; readonly metrics: Metrics; readonly current?: number; readonly to?: number }

export interface SimulatedStep { readonly at: number; readonly metrics: Metrics; readonly from: number; readonly to: number; readonly reason: string }

/**
 * Feeds every sample to a fresh autoscaler for `unit`, carrying its own replica count forward from
 * the first sample's `current` (or `start`). With the rules a recording was made with, and no
 * replica count changed by hand in between, the result repeats the recorded decisions exactly.
 */
export function simulate(unit: ResolvedUnit, trace: readonly TraceSample[], start?: number): SimulatedStep[] {
  const scaler = createAutoscaler(unit);
  let current = start ?? trace[0]?.current ?? unit.replicas.min;
  return trace.map((s) => {
    const d = scaler.decide({ now: s.at, current, metrics: s.metrics });
    const step = { at: s.at, metrics: s.metrics, from: current, to: d.to, reason: d.reason };
    current = d.to;
    return step;
  });
}
