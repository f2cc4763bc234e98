// KEDA's semantics for a worker's queue triggers: activation, waking from zero, cooldown, fallback.

/** Consecutive failed reads of the backlog before the fallback replica count applies (KEDA's `fallback.failureThreshold`). */
export const FALLBACK_FAILURE_THRESHOLD = 3;

export interface QueueTargets {
  /** Messages per replica (an `AverageValue` trigger). */
  readonly backlog?: number;
  /** Age of the oldest message that one round of replicas should not exceed (a `Value` trigger). */
  readonly ageMs?: number;
  /** Backlog above which the backlog trigger is active. */
  readonly activation: number;
}

/**
 * Whether any trigger is active. The backlog trigger is active above `activation` (KEDA: metric >
 * activationThreshold). The age trigger is active once the oldest message has waited longer than the
 * age target: its activation threshold is the target itself, so a handful of messages below the
 * backlog activation still wake a unit at zero once they have waited that long, and an age target
 * alone does not wake the unit for every single message.
 */
export function isActive(t: QueueTargets, backlog: number | null, oldestAgeMs: number | null): boolean {
  if (t.backlog !== undefined && backlog !== null && backlog > t.activation) return true;
  if (t.ageMs !== undefined && oldestAgeMs !== null && oldestAgeMs > t.ageMs) return true;
  return false;
}

/** KEDA wakes a unit at zero to `minReplicaCount` (at least 1) and leaves the rest to the HPA. */
export function wakeReplicas(min: number): number {
  return Math.max(min, 1);
}

/** A unit that scales to zero goes there once no trigger has been active for the whole cooldown. */
export function cooledDown(lastActiveAt: number, now: number, cooldownMs: number): boolean {
  return now - lastActiveAt >= cooldownMs;
}
