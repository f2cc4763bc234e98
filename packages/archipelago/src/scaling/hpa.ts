// The Kubernetes HPA replica arithmetic for one metric, and how several metrics combine.

/** The HPA's default tolerance: no scaling while the usage ratio is within 10% of 1. */
export const DEFAULT_TOLERANCE = 0.1;

/**
 * Replicas for a metric whose target is a per-replica average of something the replicas share
 * (CPU or memory utilisation, connections per replica): desired = ceil(current × value / target),
 * and `current` itself while |value / target − 1| ≤ tolerance.
 */
export function replicasForRatio(current: number, value: number, target: number, tolerance = DEFAULT_TOLERANCE): number {
  if (Math.abs(value / target - 1) <= tolerance) return current;
  // Multiplying first keeps exact products exact (3 × 200 / 100 is 6, never 6.000000000000001).
  return Math.ceil((current * value) / target);
}

/**
 * Replicas for a total that the target divides per replica (an external metric with an
 * `AverageValue` target, as KEDA's queue scalers emit): desired = ceil(total / target). The
 * tolerance applies to the ratio total / (target × current), so with `current` = 0 (nothing to
 * compare with) the plain quotient is returned.
 */
export function replicasForAverageValue(current: number, total: number, targetPerReplica: number, tolerance = DEFAULT_TOLERANCE): number {
  if (current > 0 && Math.abs(total / (targetPerReplica * current) - 1) <= tolerance) return current;
  return Math.ceil(total / targetPerReplica);
}

/**
 * Replicas for a metric that does not divide among replicas (an external metric with a `Value`
 * target, like the age of the oldest message): desired = ceil(current × value / target).
 */
export const replicasForValue = replicasForRatio;

export interface Combined {
  /** The replica count the metrics ask for, or undefined when the HPA skips this round. */
  readonly desired: number | undefined;
  readonly reason: string;
}

/**
 * Several metrics: the highest recommendation wins. A metric that cannot be read (null) may not
 * cause a scale-down: when some are missing and the rest suggest scaling down, the round
 * is skipped; when all are missing it is skipped too. Scaling up on the readable ones still happens.
 */
export function combineRecommendations(current: number, recs: readonly { metric: string; replicas: number | null }[]): Combined {
  const readable = recs.filter((r): r is { metric: string; replicas: number } => r.replicas !== null);
  const missing = recs.filter((r) => r.replicas === null).map((r) => r.metric);
  if (recs.length === 0) return { desired: undefined, reason: 'no scaling target' };
  if (readable.length === 0) return { desired: undefined, reason: `no metric could be read (${missing.join(', ')}): no change` };
  const best = readable.reduce((a, b) => (b.replicas > a.replicas ? b : a));
  if (missing.length > 0 && best.replicas < current) {
    return { desired: undefined, reason: `${missing.join(', ')} could not be read and the rest suggest scaling down: no change` };
  }
  return { desired: best.replicas, reason: readable.length > 1 ? `highest recommendation: ${best.metric}` : best.metric };
}
