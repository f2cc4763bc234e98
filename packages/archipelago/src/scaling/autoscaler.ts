// A stateful autoscaler per unit: HPA arithmetic for api/realtime, KEDA in front of it for workers.
import type { ResolvedUnit, ResolvedWorkerUnit } from '../service/types.js';
import { limitRate, stabilize, type Behavior, type Recommendation, type ScaleEvent } from './behavior.js';
import { combineRecommendations, DEFAULT_TOLERANCE, replicasForAverageValue, replicasForRatio, replicasForValue } from './hpa.js';
import { cooledDown, FALLBACK_FAILURE_THRESHOLD, isActive, wakeReplicas } from './keda.js';

/** How often the local loop reads metrics for a unit that does not declare `scale.polling`. */
export const DEFAULT_POLLING_MS = 2_000;

/**
 * One reading of a unit's metrics. A value that could not be read is null or left out.
 * - `cpuPercent`, `memoryPercent`: average over the replicas of usage in percent of the unit's
 *   `resources` request (what the HPA calls utilisation).
 * - `connections`: open WebSocket/HTTP connections summed over the replicas (the target is per replica).
 * - `backlog`: messages waiting in the unit's subscriptions, summed; `oldestAgeMs`: age of the oldest
 *   (null with a backlog of 0 means an empty queue, age 0).
 */
export interface Metrics {
  readonly cpuPercent?: number | null;
  readonly memoryPercent?: number | null;
  readonly connections?: number | null;
  readonly backlog?: number | null;
  readonly oldestAgeMs?: number | null;
}
export interface DecideInput { readonly now: number; readonly current: number; readonly metrics: Metrics }

export interface Decision {
  readonly unit: string;
  readonly at: number;
  readonly from: number;
  readonly to: number;
  /** One human-readable sentence: why `to`. */
  readonly reason: string;
  /** The readings the decision used, null where one could not be read. */
  readonly metrics: Record<string, number | null>;
  /** Per target metric, the replicas it asks for (null: not readable). Empty when no metric was consulted. */
  readonly recommendations: readonly { metric: string; replicas: number | null }[];
  /** The metrics' combined recommendation before stabilisation, rate policies and bounds. */
  readonly desired?: number;
  /** Which rule held `to` back from `desired`. */
  readonly limitedBy?: 'stabilization' | 'scale-up policy' | 'scale-down policy' | 'max' | 'min';
}

export interface Autoscaler {
  readonly unit: string;
  /** How often to call `decide` (the unit's `scale.polling`, else 2 s). */
  readonly pollingMs: number;
  decide(input: DecideInput): Decision;
}

export interface AutoscalerOptions { toleranceRatio?: number }

const read = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * An autoscaler for one unit. Call `decide` every `pollingMs` with the current replica count and the
 * readings; apply `to`. It remembers what the rules need: past recommendations (stabilisation
 * windows), past changes (rate policies), and for workers the last time a trigger was active
 * (cooldown) and consecutive failed backlog reads (fallback). Units of other kinds are only kept
 * within replicas.min..max.
 */
export function createAutoscaler(unit: ResolvedUnit, opts: AutoscalerOptions = {}): Autoscaler {
  const tolerance = opts.toleranceRatio ?? DEFAULT_TOLERANCE;
  const { min, max } = unit.replicas;
  const recommendations: Recommendation[] = [];
  const events: ScaleEvent[] = [];

  /** The HPA's round: metrics → recommendation → stabilisation → rate policies and bounds. */
  function hpa(now: number, current: number, behavior: Behavior, bounds: { min: number; max: number },
    recs: { metric: string; replicas: number | null; text: string }[], metrics: Record<string, number | null>): Decision {
    const base = { unit: unit.name, at: now, from: current, metrics, recommendations: recs.map(({ metric, replicas }) => ({ metric, replicas })) };
    if (current > bounds.max || current < bounds.min) {
      const to = Math.min(Math.max(current, bounds.min), bounds.max);
      record(now, current, to);
      return { ...base, to, reason: `${current} replicas is outside ${bounds.min}..${bounds.max}` };
    }
    const combined = combineRecommendations(current, recs);
    const described = recs.filter((r) => r.replicas !== null).map((r) => r.text).join(', ');
    if (combined.desired === undefined) return { ...base, to: current, reason: combined.reason };
    const desired = combined.desired;
    const stable = stabilize(current, desired, recommendations, behavior, now);
    recommendations.push({ at: now, replicas: desired });
    const limited = limitRate(current, stable.replicas, bounds, events, behavior, now);
    const to = limited.replicas;
    prune(now, behavior);
    record(now, current, to);
    let limitedBy: Decision['limitedBy'] = limited.limitedBy;
    let why: string;
    if (limitedBy === undefined && stable.replicas !== desired) {
      limitedBy = 'stabilization';
      why = desired < current
        ? `${described}; held at ${to} by the highest recommendation of the last ${behavior.scaleDown.stabilizationMs / 1000}s`
        : `${described}; held at ${to} by the lowest recommendation of the last ${behavior.scaleUp.stabilizationMs / 1000}s`;
    } else if (limitedBy !== undefined) {
      why = `${described}; ${desired} limited to ${to} by ${limitedBy === 'max' || limitedBy === 'min' ? `replicas.${limitedBy}` : `the ${limitedBy}`}`;
    } else why = to === current ? `${described}; no change` : described;
    return { ...base, to, reason: why, desired, ...(limitedBy !== undefined && to !== desired ? { limitedBy } : {}) };
  }

  function record(now: number, from: number, to: number): void {
    if (to !== from) events.push({ at: now, delta: to - from });
  }

  function prune(now: number, behavior: Behavior): void {
    const keepRecs = Math.max(behavior.scaleUp.stabilizationMs, behavior.scaleDown.stabilizationMs);
    while (recommendations.length > 0 && recommendations[0]!.at <= now - keepRecs) recommendations.shift();
    const keepEvents = Math.max(0, ...behavior.scaleUp.policies.map((p) => p.periodMs), ...behavior.scaleDown.policies.map((p) => p.periodMs));
    while (events.length > 0 && events[0]!.at <= now - keepEvents) events.shift();
  }

  switch (unit.kind) {
    case 'api': case 'realtime': {
      const s = unit.scale;
      return {
        unit: unit.name, pollingMs: DEFAULT_POLLING_MS,
        decide({ now, current, metrics: m }) {
          const cpu = read(m.cpuPercent), memory = read(m.memoryPercent), connections = read(m.connections);
          const metrics: Record<string, number | null> = { cpuPercent: cpu, memoryPercent: memory, connections };
          const recs: { metric: string; replicas: number | null; text: string }[] = [];
          if (s.cpu !== undefined) recs.push({ metric: 'cpu', replicas: cpu === null ? null : replicasForRatio(current, cpu, s.cpu, tolerance), text: `cpu ${round(cpu)}% (target ${s.cpu}%)` });
          if (s.memory !== undefined) recs.push({ metric: 'memory', replicas: memory === null ? null : replicasForRatio(current, memory, s.memory, tolerance), text: `memory ${round(memory)}% (target ${s.memory}%)` });
          if (s.connections !== undefined) {
            recs.push({ metric: 'connections', replicas: connections === null ? null : replicasForAverageValue(current, connections, s.connections, tolerance),
              text: `${connections} connections (target ${s.connections} per replica)` });
          }
          // The HPA keeps at least one replica; a unit stopped by hand comes back at its minimum.
          return hpa(now, current, s.behavior, { min: Math.max(min, 1), max }, recs, metrics);
        },
      };
    }
    case 'worker': return workerAutoscaler(unit);
    default:
      return {
        unit: unit.name, pollingMs: DEFAULT_POLLING_MS,
        decide({ now, current }) {
          const to = Math.min(Math.max(current, min), max);
          return { unit: unit.name, at: now, from: current, to, reason: `a ${unit.kind} unit is not autoscaled${to === current ? '' : `; kept within ${min}..${max}`}`, metrics: {}, recommendations: [] };
        },
      };
  }

  function workerAutoscaler(w: ResolvedWorkerUnit): Autoscaler {
    const s = w.scale;
    let lastActiveAt: number | undefined;
    let failures = 0;
    return {
      unit: w.name, pollingMs: s.pollingMs,
      decide({ now, current, metrics: m }) {
        const backlog = read(m.backlog);
        // An empty queue has no oldest message: its age is 0, not unknown.
        const age = read(m.oldestAgeMs) ?? (backlog === 0 ? 0 : null);
        const metrics: Record<string, number | null> = { backlog, oldestAgeMs: age };
        const backlogUnread = s.backlog !== undefined && backlog === null;
        const ageUnread = s.ageMs !== undefined && age === null;
        failures = backlogUnread ? failures + 1 : 0;
        const fallback = s.fallback !== undefined && s.backlog !== undefined && failures >= FALLBACK_FAILURE_THRESHOLD ? s.fallback : undefined;
        const active = isActive(s, backlog, age) || fallback !== undefined;
        // The cooldown counts from the first reading too, so a unit started with replicas keeps them for one cooldown.
        if (active || lastActiveAt === undefined) lastActiveAt = now;
        const base = { unit: w.name, at: now, from: current, metrics };
        const trigger = describeTrigger(s, backlog, age, fallback);

        if (current === 0) {
          if (active) return { ...base, to: Math.min(wakeReplicas(min), max), reason: `${trigger}: waking from zero`, recommendations: [] };
          if (min > 0) return { ...base, to: min, reason: `0 replicas is below replicas.min ${min}`, recommendations: [] };
          return { ...base, to: 0, reason: backlogUnread || ageUnread ? 'metrics unreadable: staying at zero' : `${trigger}: idle at zero`, recommendations: [] };
        }
        if (min === 0 && !active && !backlogUnread && !ageUnread && cooledDown(lastActiveAt, now, s.cooldownMs)) {
          return { ...base, to: 0, reason: `${trigger} for ${Math.round((now - lastActiveAt) / 1000)}s ≥ cooldown ${s.cooldownMs / 1000}s: scaling to zero`, recommendations: [] };
        }
        const recs: { metric: string; replicas: number | null; text: string }[] = [];
        if (s.backlog !== undefined) {
          if (fallback !== undefined) {
            // KEDA reports fallback × target as the metric, so the HPA lands on the fallback count.
            recs.push({ metric: 'backlog', replicas: replicasForAverageValue(current, fallback * s.backlog, s.backlog, tolerance),
              text: `backlog unreadable ${failures} times: fallback ${fallback} replicas` });
          } else {
            recs.push({ metric: 'backlog', replicas: backlog === null ? null : replicasForAverageValue(current, backlog, s.backlog, tolerance),
              text: `backlog ${backlog} (target ${s.backlog} per replica)` });
          }
        }
        if (s.ageMs !== undefined) {
          recs.push({ metric: 'age', replicas: age === null ? null : replicasForValue(current, age, s.ageMs, tolerance),
            text: `oldest ${round(age === null ? null : age / 1000)}s (target ${s.ageMs / 1000}s)` });
        }
        // Above zero the HPA decides, with KEDA's floor of one replica.
        return hpa(now, current, s.behavior, { min: Math.max(min, 1), max }, recs, metrics);
      },
    };
  }
}

function describeTrigger(s: ResolvedWorkerUnit['scale'], backlog: number | null, age: number | null, fallback: number | undefined): string {
  if (fallback !== undefined) return `backlog unreadable: fallback ${fallback}`;
  const parts: string[] = [];
  if (s.backlog !== undefined) parts.push(backlog === null ? 'backlog unreadable' : `backlog ${backlog} ${backlog > s.activation ? '>' : '≤'} activation ${s.activation}`);
  if (s.ageMs !== undefined) parts.push(age === null ? 'age unreadable' : `oldest ${round(age / 1000)}s ${age > s.ageMs ? '>' : '≤'} ${s.ageMs / 1000}s`);
  return parts.join(', ');
}

function round(v: number | null): string {
  return v === null ? '?' : String(Math.round(v * 10) / 10);
}
