// Cases from the KEDA documentation ("ScaledObject specification", "Scaling Deployments") run through the worker autoscaler.
import { describe, expect, it } from 'vitest';
import { createAutoscaler, FALLBACK_FAILURE_THRESHOLD, type Decision, type Metrics } from '../../src/scaling/index.js';
import { workerUnit } from './units.js';

const SECOND = 1000;

/** Feeds readings one polling interval apart, applying each decision as the supervisor would. */
function run(unit: ReturnType<typeof workerUnit>, start: number, readings: Metrics[], stepMs = unit.scale.pollingMs): Decision[] {
  const a = createAutoscaler(unit);
  let current = start;
  return readings.map((metrics, i) => {
    const d = a.decide({ now: i * stepMs, current, metrics });
    current = d.to;
    return d;
  });
}

describe('KEDA "Activating and Scaling thresholds"', () => {
  const unit = workerUnit({ replicas: { min: 0, max: 10 }, scale: { backlog: 10, activation: 5 } });
  it('Activation: a backlog at or below the activation value does not wake a unit at zero', () => {
    expect(run(unit, 0, [{ backlog: 5 }]).map((d) => d.to)).toEqual([0]);
  });
  it('Activation only occurs when the value is greater than the threshold: 6 > 5 wakes to 1', () => {
    const [d] = run(unit, 0, [{ backlog: 6 }]);
    expect(d).toMatchObject({ from: 0, to: 1 });
    expect(d!.reason).toContain('waking from zero');
  });
  it('activationThreshold 0 (the default) activates at 1 message, not at 0', () => {
    const u = workerUnit({ replicas: { min: 0, max: 10 }, scale: { backlog: 10 } });
    expect(run(u, 0, [{ backlog: 0 }, { backlog: 1 }]).map((d) => d.to)).toEqual([0, 1]);
  });
  it('Scaling phase: once at 1, the HPA takes over 1 → N on the backlog target (30 messages, 10 per replica → 3)', () => {
    const u = workerUnit({ replicas: { min: 0, max: 10 }, scale: { backlog: 10 } });
    expect(run(u, 0, [{ backlog: 30 }, { backlog: 30 }]).map((d) => d.to)).toEqual([1, 3]);
  });
  it('The activation value has priority: threshold 10, activation 50 and 40 messages scale to zero though the HPA wants 4', () => {
    const u = workerUnit({ replicas: { min: 0, max: 10 }, scale: { backlog: 10, activation: 50, cooldown: '10s' } });
    const ds = run(u, 2, Array.from({ length: 7 }, () => ({ backlog: 40 })));
    expect(ds[0]!.to).toBe(4);
    const toZero = ds.find((d) => d.from > 0 && d.to === 0);
    expect(toZero?.reason).toContain('scaling to zero');
    expect(ds.at(-1)!.to).toBe(0);
  });
  it('If the minimum replicas is ≥ 1 the unit never goes to zero, whatever the activation', () => {
    const u = workerUnit({ replicas: { min: 1, max: 10 }, scale: { backlog: 10, activation: 50, cooldown: '1s' } });
    expect(run(u, 1, Array.from({ length: 5 }, () => ({ backlog: 0 }))).every((d) => d.to === 1)).toBe(true);
  });
});

describe('KEDA "ScaledObject specification"', () => {
  it('minReplicaCount/maxReplicaCount: the issue-5 worker goes 0 → 4 within two polling intervals of crossing activation', () => {
    const u = workerUnit({ replicas: { min: 0, max: 4 }, scale: { backlog: 50 } });
    const ds = run(u, 0, [{ backlog: 0 }, { backlog: 2000 }, { backlog: 2000 }]);
    expect(ds.map((d) => d.to)).toEqual([0, 1, 4]);
    expect(ds[2]).toMatchObject({ desired: 40, limitedBy: 'max' });
  });
  it('maxReplicaCount is passed to the HPA as its maximum', () => {
    const u = workerUnit({ replicas: { min: 1, max: 3 }, scale: { backlog: 10 } });
    expect(run(u, 1, [{ backlog: 1000 }])[0]!.to).toBe(3);
  });
  it('cooldownPeriod: wait after the last trigger reported active before scaling back to 0', () => {
    const u = workerUnit({ replicas: { min: 0, max: 4 }, scale: { backlog: 50, cooldown: '10s', polling: '2s' } });
    const readings: Metrics[] = [{ backlog: 100 }, { backlog: 100 }, ...Array.from({ length: 8 }, () => ({ backlog: 0 }))];
    const ds = run(u, 0, readings);
    // Last active at t=2 s; idle readings from t=4 s; zero at the first reading with t − 2 s ≥ 10 s.
    const zeroAt = ds.findIndex((d) => d.to === 0 && d.from > 0);
    expect(zeroAt * 2).toBe(12);
  });
  it('cooldownPeriod only applies when scaling to 0; 1 ↔ N is the HPA behavior', () => {
    const u = workerUnit({ replicas: { min: 0, max: 8 }, scale: { backlog: 10, cooldown: '60s', behavior: { scaleDown: { stabilization: '0s' } } } });
    const ds = run(u, 4, [{ backlog: 40 }, { backlog: 0 }, { backlog: 0 }]);
    expect(ds.map((d) => d.to)).toEqual([4, 1, 1]);
  });
  it('cooldownPeriod: a trigger active again during the cooldown restarts it', () => {
    const u = workerUnit({ replicas: { min: 0, max: 4 }, scale: { backlog: 50, cooldown: '6s', polling: '2s' } });
    const ds = run(u, 1, [{ backlog: 0 }, { backlog: 0 }, { backlog: 3 }, { backlog: 0 }, { backlog: 0 }, { backlog: 0 }, { backlog: 0 }]);
    // Active at t=4 s: zero no earlier than t=10 s.
    expect(ds.map((d) => d.to)).toEqual([1, 1, 1, 1, 1, 0, 0]);
  });
  it('pollingInterval: the autoscaler reports the unit\'s polling interval (default 2 s locally)', () => {
    expect(createAutoscaler(workerUnit({ scale: { backlog: 5, polling: '5s' } })).pollingMs).toBe(5 * SECOND);
    expect(createAutoscaler(workerUnit({ scale: { backlog: 5 } })).pollingMs).toBe(2 * SECOND);
  });
  it(`fallback: after failureThreshold (${FALLBACK_FAILURE_THRESHOLD}) consecutive failures the unit scales to fallback.replicas`, () => {
    const u = workerUnit({ replicas: { min: 1, max: 10 }, scale: { backlog: 10, fallback: 6 } });
    const ds = run(u, 2, [{ backlog: null }, { backlog: null }, { backlog: null }, { backlog: null }]);
    expect(ds.map((d) => d.to)).toEqual([2, 2, 6, 6]);
    expect(ds[2]!.reason).toContain('fallback');
  });
  it('fallback: a successful read resets the failure count', () => {
    const u = workerUnit({ replicas: { min: 1, max: 10 }, scale: { backlog: 10, fallback: 6 } });
    const ds = run(u, 2, [{ backlog: null }, { backlog: null }, { backlog: 20 }, { backlog: null }, { backlog: null }]);
    expect(ds.map((d) => d.to)).toEqual([2, 2, 2, 2, 2]);
  });
  it('without fallback an unreadable backlog changes nothing: no scale-down, no scale to zero', () => {
    const u = workerUnit({ replicas: { min: 0, max: 10 }, scale: { backlog: 10, cooldown: '1s', behavior: { scaleDown: { stabilization: '0s' } } } });
    const ds = run(u, 5, Array.from({ length: 5 }, () => ({ backlog: null })));
    expect(ds.every((d) => d.to === 5)).toBe(true);
  });
});

describe('the age trigger (oldest message, a Value metric beside the backlog)', () => {
  it('desired = ceil(current × age / target): 2 replicas, oldest 90 s for a 30 s target → 6', () => {
    const u = workerUnit({ replicas: { min: 1, max: 10 }, scale: { age: '30s' } });
    expect(run(u, 2, [{ oldestAgeMs: 90_000 }])[0]!.to).toBe(6);
  });
  it('with a backlog target too the higher recommendation wins', () => {
    const u = workerUnit({ replicas: { min: 1, max: 10 }, scale: { backlog: 100, age: '30s' } });
    expect(run(u, 2, [{ backlog: 100, oldestAgeMs: 60_000 }])[0]).toMatchObject({ to: 4, recommendations: [{ metric: 'backlog', replicas: 1 }, { metric: 'age', replicas: 4 }] });
  });
  it('an empty queue reports no oldest message: the age counts as 0, the unit scales down and to zero', () => {
    const u = workerUnit({ replicas: { min: 0, max: 10 }, scale: { backlog: 100, age: '30s', cooldown: '4s', behavior: { scaleDown: { stabilization: '0s' } } } });
    const ds = run(u, 3, [{ backlog: 0, oldestAgeMs: null }, { backlog: 0, oldestAgeMs: null }, { backlog: 0, oldestAgeMs: null }]);
    expect(ds.map((d) => d.to)).toEqual([1, 1, 0]);
    // With messages waiting, an unknown age is a metric that cannot be read: no scale-down.
    expect(run(u, 3, [{ backlog: 120, oldestAgeMs: null }])[0]!.to).toBe(3);
  });
  it('wakes a unit at zero once the oldest message waited longer than the target, even below the backlog activation', () => {
    const u = workerUnit({ replicas: { min: 0, max: 10 }, scale: { backlog: 100, activation: 50, age: '30s' } });
    expect(run(u, 0, [{ backlog: 3, oldestAgeMs: 10_000 }, { backlog: 3, oldestAgeMs: 31_000 }]).map((d) => d.to)).toEqual([0, 1]);
  });
});
