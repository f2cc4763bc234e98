// The HPA `behavior` rules: stabilisation windows and rate policies, applied to a recommendation.
import type { ResolvedBehavior } from '../service/types.js';

export interface Policy { readonly type: 'pods' | 'percent'; readonly value: number; readonly periodMs: number }
/** One direction of a behavior. `disabled` (not in the declaration yet) stops scaling that way, as the HPA's `selectPolicy: Disabled`. */
export interface Rules { readonly stabilizationMs: number; readonly policies: readonly Policy[]; readonly select: 'max' | 'min' | 'disabled' }
export interface Behavior { readonly scaleUp: Rules; readonly scaleDown: Rules }

/** A past metric recommendation (before clamps), kept for the stabilisation windows. */
export interface Recommendation { readonly at: number; readonly replicas: number }
/** A past change of the replica count, kept for the rate policies: `delta` > 0 added, < 0 removed. */
export interface ScaleEvent { readonly at: number; readonly delta: number }

/** Kubernetes' defaults (documented under "Default behavior"), in the resolved form. */
export const DEFAULT_BEHAVIOR: ResolvedBehavior = Object.freeze({
  scaleUp: { stabilizationMs: 0, policies: [{ type: 'percent', value: 100, periodMs: 15_000 }, { type: 'pods', value: 4, periodMs: 15_000 }], select: 'max' },
  scaleDown: { stabilizationMs: 300_000, policies: [{ type: 'percent', value: 100, periodMs: 15_000 }], select: 'max' },
}) as ResolvedBehavior;

/**
 * The stabilised recommendation. Within the scale-down window the highest recommendation is the
 * floor to scale down to, within the scale-up window the lowest is the ceiling to scale up to;
 * the current count is kept when it lies between them. `desired` (made `now`) counts as in both windows.
 */
export function stabilize(current: number, desired: number, history: readonly Recommendation[], behavior: Behavior, now: number):
  { replicas: number; up: number; down: number } {
  let up = desired, down = desired;
  for (const r of history) {
    if (r.at > now - behavior.scaleUp.stabilizationMs) up = Math.min(up, r.replicas);
    if (r.at > now - behavior.scaleDown.stabilizationMs) down = Math.max(down, r.replicas);
  }
  let replicas = current;
  if (replicas < up) replicas = up;
  if (replicas > down) replicas = down;
  return { replicas, up, down };
}

/** Replicas added (sign 1) or removed (sign −1) within the last `periodMs`. */
function changedWithin(events: readonly ScaleEvent[], periodMs: number, now: number, sign: 1 | -1): number {
  let n = 0;
  for (const e of events) if (e.at > now - periodMs && Math.sign(e.delta) === sign) n += Math.abs(e.delta);
  return n;
}

/**
 * The highest count the scale-up policies allow now. Each policy bounds the change over its
 * period, measured from the count the period started with; `max` picks the policy allowing the
 * most change, `min` the least. Percent limits round up so that a small unit can still grow.
 */
export function scaleUpLimit(current: number, events: readonly ScaleEvent[], rules: Rules, now: number): number {
  if (rules.select === 'disabled' || rules.policies.length === 0) return current;
  const limits = rules.policies.map((p) => {
    const start = current - changedWithin(events, p.periodMs, now, 1) + changedWithin(events, p.periodMs, now, -1);
    return p.type === 'pods' ? start + p.value : Math.ceil((start * (100 + p.value)) / 100);
  });
  const limit = rules.select === 'max' ? Math.max(...limits) : Math.min(...limits);
  // Replicas added earlier in the period may already exceed what a policy allows: then hold.
  return Math.max(limit, current);
}

/** The lowest count the scale-down policies allow now (percent limits round the count down, i.e. the change up). */
export function scaleDownLimit(current: number, events: readonly ScaleEvent[], rules: Rules, now: number): number {
  if (rules.select === 'disabled' || rules.policies.length === 0) return current;
  const limits = rules.policies.map((p) => {
    const start = current + changedWithin(events, p.periodMs, now, -1) - changedWithin(events, p.periodMs, now, 1);
    return p.type === 'pods' ? start - p.value : Math.floor((start * (100 - p.value)) / 100);
  });
  const limit = rules.select === 'max' ? Math.min(...limits) : Math.max(...limits);
  return Math.min(limit, current);
}

/** Applies the rate policies and the min/max bounds to a stabilised recommendation. */
export function limitRate(current: number, desired: number, bounds: { min: number; max: number }, events: readonly ScaleEvent[], behavior: Behavior, now: number):
  { replicas: number; limitedBy?: 'scale-up policy' | 'scale-down policy' | 'max' | 'min' } {
  if (desired > current) {
    const policy = scaleUpLimit(current, events, behavior.scaleUp, now);
    const allowed = Math.min(policy, bounds.max);
    if (desired > allowed) return { replicas: allowed, limitedBy: policy < bounds.max ? 'scale-up policy' : 'max' };
  } else if (desired < current) {
    const policy = scaleDownLimit(current, events, behavior.scaleDown, now);
    const allowed = Math.max(policy, bounds.min);
    if (desired < allowed) return { replicas: allowed, limitedBy: policy > bounds.min ? 'scale-down policy' : 'min' };
  }
  return { replicas: desired };
}
