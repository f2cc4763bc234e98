// Cases from the Kubernetes HPA documentation ("Horizontal Pod Autoscaling"), one section per block.
import { describe, expect, it } from 'vitest';
import {
  combineRecommendations, createAutoscaler, DEFAULT_BEHAVIOR, limitRate, replicasForAverageValue, replicasForRatio,
  scaleDownLimit, scaleUpLimit, stabilize, type Behavior, type Rules,
} from '../../src/scaling/index.js';
import { resolveService } from '../../src/service/index.js';
import { apiUnit } from './units.js';

const SECOND = 1000;

describe('HPA "Algorithm details"', () => {
  it.each([
    ['current 200m, desired 100m: the replicas double', 3, 200, 100, 6],
    ['current 50m, desired 100m: the replicas halve', 4, 50, 100, 2],
    ['ratio 1.08 is within the 0.1 tolerance: no change', 5, 108, 100, 5],
    ['ratio 0.91 is within the 0.1 tolerance: no change', 5, 91, 100, 5],
    ['ratio 1.2 is outside the tolerance: ceil(5 × 1.2)', 5, 120, 100, 6],
    ['ratio 0.8 is outside the tolerance: ceil(10 × 0.8)', 10, 80, 100, 8],
    ['desiredReplicas is rounded up: ceil(3 × 150 / 100) = 5', 3, 150, 100, 5],
  ])('Algorithm details: %s', (_name, current, value, target, expected) => {
    expect(replicasForRatio(current, value, target)).toBe(expected);
  });

  it('Algorithm details: a targetAverageValue compares the average across the pods (total / target)', () => {
    // 4 replicas holding 1,000 connections with a target of 100 per replica.
    expect(replicasForAverageValue(4, 1000, 100)).toBe(10);
    // 4 replicas holding 420 (average 105, within 10% of 100): no change.
    expect(replicasForAverageValue(4, 420, 100)).toBe(4);
  });

  it('Algorithm details (configurable tolerance): a tighter tolerance acts on a 5% deviation', () => {
    expect(replicasForRatio(10, 106, 100, 0.1)).toBe(10);
    expect(replicasForRatio(10, 106, 100, 0.05)).toBe(11);
  });
});

describe('HPA "Support for multiple metrics" and missing metrics ("Algorithm details")', () => {
  it('Scaling on multiple metrics: the largest of the desired replica counts is chosen', () => {
    expect(combineRecommendations(3, [{ metric: 'cpu', replicas: 5 }, { metric: 'memory', replicas: 7 }]).desired).toBe(7);
    expect(combineRecommendations(6, [{ metric: 'cpu', replicas: 2 }, { metric: 'memory', replicas: 4 }]).desired).toBe(4);
  });
  it('Algorithm details: a metric that cannot be fetched while the rest suggest a scale down skips scaling', () => {
    const c = combineRecommendations(5, [{ metric: 'cpu', replicas: 3 }, { metric: 'memory', replicas: null }]);
    expect(c.desired).toBeUndefined();
    expect(c.reason).toContain('memory');
  });
  it('Algorithm details: the HPA is still capable of scaling up if a readable metric asks for more than the current value', () => {
    expect(combineRecommendations(5, [{ metric: 'cpu', replicas: 8 }, { metric: 'memory', replicas: null }]).desired).toBe(8);
  });
  it('Algorithm details: no readable metric at all: no scaling', () => {
    expect(combineRecommendations(5, [{ metric: 'cpu', replicas: null }]).desired).toBeUndefined();
  });
  it('through the autoscaler: CPU unreadable and memory low never scales down', () => {
    const a = createAutoscaler(apiUnit({ replicas: { min: 1, max: 10 }, scale: { cpu: 50, memory: 50, behavior: { scaleDown: { stabilization: '0s' } } } }));
    const d = a.decide({ now: 0, current: 6, metrics: { memoryPercent: 5 } });
    expect(d).toMatchObject({ from: 6, to: 6, recommendations: [{ metric: 'cpu', replicas: null }, { metric: 'memory', replicas: 1 }] });
    expect(d.metrics).toMatchObject({ cpuPercent: null, memoryPercent: 5 });
  });
});

const rules = (r: Partial<Rules>): Rules => ({ stabilizationMs: 0, policies: [], select: 'max', ...r });

describe('HPA "Scaling policies"', () => {
  const down = rules({ policies: [{ type: 'pods', value: 4, periodMs: 60 * SECOND }, { type: 'percent', value: 10, periodMs: 60 * SECOND }] });
  it('Scaling policies: from 80 replicas towards 10, the first step removes 8 (10% beats 4 pods)', () => {
    expect(scaleDownLimit(80, [], down, 0)).toBe(72);
  });
  it('Scaling policies: at 72, 10% is 7.2, rounded up to 8 removed', () => {
    expect(scaleDownLimit(72, [], down, 0)).toBe(64);
  });
  it('Scaling policies: below 40 replicas the Pods policy applies, 4 at a time', () => {
    expect(scaleDownLimit(30, [], down, 0)).toBe(26);
    expect(scaleDownLimit(40, [], down, 0)).toBe(36);
  });
  it('Scaling policies: periodSeconds is the time in the past for which the policy must hold', () => {
    const events = [{ at: 0, delta: -8 }];
    // 8 removed 30 s ago from 80: the period started at 80, 10% of that is used up.
    expect(scaleDownLimit(72, events, down, 30 * SECOND)).toBe(72);
    // Once the period has passed the next step may go.
    expect(scaleDownLimit(72, events, down, 61 * SECOND)).toBe(64);
  });
  it('Example: limit scale down rate: Percent 10 and Pods 5 per minute with selectPolicy Min affects the fewest pods', () => {
    const r = rules({ policies: [{ type: 'percent', value: 10, periodMs: 60 * SECOND }, { type: 'pods', value: 5, periodMs: 60 * SECOND }], select: 'min' });
    expect(scaleDownLimit(100, [], r, 0)).toBe(95);
    expect(scaleDownLimit(30, [], r, 0)).toBe(27);
  });
  it('Example: disable scale down: selectPolicy Disabled keeps the replicas', () => {
    expect(scaleDownLimit(10, [], rules({ policies: [{ type: 'percent', value: 100, periodMs: 15 * SECOND }], select: 'disabled' }), 0)).toBe(10);
    const behavior: Behavior = { scaleUp: DEFAULT_BEHAVIOR.scaleUp, scaleDown: rules({ policies: [{ type: 'percent', value: 100, periodMs: 15 * SECOND }], select: 'disabled' }) };
    expect(limitRate(10, 2, { min: 1, max: 20 }, [], behavior, 0).replicas).toBe(10);
  });
});

describe('HPA "Default behavior"', () => {
  it('Default behavior: scale up adds at most 4 pods or 100% every 15 seconds, whichever is more', () => {
    expect(scaleUpLimit(1, [], DEFAULT_BEHAVIOR.scaleUp, 0)).toBe(5);
    expect(scaleUpLimit(10, [], DEFAULT_BEHAVIOR.scaleUp, 0)).toBe(20);
    // 4 added 10 s ago (1 → 5): the period started at 1, so 5 is the limit: hold.
    expect(scaleUpLimit(5, [{ at: 0, delta: 4 }], DEFAULT_BEHAVIOR.scaleUp, 10 * SECOND)).toBe(5);
    expect(scaleUpLimit(5, [{ at: 0, delta: 4 }], DEFAULT_BEHAVIOR.scaleUp, 16 * SECOND)).toBe(10);
  });
  it('Default behavior: scale down may remove 100% of the replicas, down to the minimum', () => {
    expect(scaleDownLimit(10, [], DEFAULT_BEHAVIOR.scaleDown, 0)).toBe(0);
    expect(limitRate(10, 0, { min: 2, max: 10 }, [], DEFAULT_BEHAVIOR, 0)).toEqual({ replicas: 2, limitedBy: 'min' });
  });
  it('Default behavior: no scale-up stabilisation (scaled up immediately), scale-down window of 300 s', () => {
    const a = createAutoscaler(apiUnit({ replicas: { min: 2, max: 20 }, scale: { cpu: 50 } }));
    const seq: [number, number][] = [];
    let current = 2;
    // Load arrives at t=0 and leaves at t=30 s; the loop runs every 15 s.
    for (let t = 0; t <= 400; t += 15) {
      const d = a.decide({ now: t * SECOND, current, metrics: { cpuPercent: t < 30 ? 200 : 10 } });
      seq.push([t, d.to]);
      current = d.to;
    }
    expect(seq.slice(0, 3)).toEqual([[0, 6], [15, 12], [30, 12]]);
    // The last high recommendation (24, clamped by policy to 12) was made at t=15 s; it holds for 300 s.
    expect(seq.filter(([t]) => t < 315).every(([t, r]) => t === 0 || r === 12)).toBe(true);
    expect(seq.find(([t]) => t === 315)?.[1]).toBe(3);
  });
  it('maxReplicas: the largest recommendation is capped at the maximum', () => {
    const a = createAutoscaler(apiUnit({ replicas: { min: 1, max: 3 }, scale: { cpu: 50 } }));
    expect(a.decide({ now: 0, current: 2, metrics: { cpuPercent: 400 } })).toMatchObject({ to: 3, desired: 16, limitedBy: 'max' });
  });
});

describe('HPA "Stabilization window"', () => {
  const behavior = (downMs: number, upMs = 0): Behavior => ({ scaleUp: { ...DEFAULT_BEHAVIOR.scaleUp, stabilizationMs: upMs }, scaleDown: { ...DEFAULT_BEHAVIOR.scaleDown, stabilizationMs: downMs } });
  it('Stabilization window: a scale down uses the highest desired state from the window', () => {
    const history = [{ at: 0, replicas: 8 }, { at: 100 * SECOND, replicas: 5 }];
    expect(stabilize(8, 3, history, behavior(300 * SECOND), 200 * SECOND).replicas).toBe(8);
    // 8 left the 300 s window; 5 is now the highest.
    expect(stabilize(8, 3, history, behavior(300 * SECOND), 301 * SECOND).replicas).toBe(5);
  });
  it('Example: change downscale stabilization window to 60 s', () => {
    const history = [{ at: 0, replicas: 8 }];
    expect(stabilize(8, 3, history, behavior(60 * SECOND), 59 * SECOND).replicas).toBe(8);
    expect(stabilize(8, 3, history, behavior(60 * SECOND), 60 * SECOND).replicas).toBe(3);
  });
  it('HPAScalingRules: a scale-up window takes the lowest (safest) recommendation within it', () => {
    const history = [{ at: 0, replicas: 4 }, { at: 30 * SECOND, replicas: 9 }];
    expect(stabilize(2, 10, history, behavior(0, 60 * SECOND), 40 * SECOND).replicas).toBe(4);
    expect(stabilize(2, 10, history, behavior(0, 60 * SECOND), 61 * SECOND).replicas).toBe(9);
  });
  it('Stabilization window: fluctuating metrics do not remove pods only to recreate them moments later', () => {
    const a = createAutoscaler(apiUnit({ replicas: { min: 1, max: 10 }, scale: { cpu: 50, behavior: { scaleDown: { stabilization: '60s' } } } }));
    let current = 4;
    const tos: number[] = [];
    for (const [t, cpu] of [[0, 50], [15, 10], [30, 60], [45, 10], [60, 50]] as const) {
      current = a.decide({ now: t * SECOND, current, metrics: { cpuPercent: cpu } }).to;
      tos.push(current);
    }
    expect(tos).toEqual([4, 4, 5, 5, 5]);
  });
});

describe('units that do not autoscale', () => {
  it('a cdc unit keeps its count, brought back within replicas.min..max', () => {
    const cdc = resolveService({ name: 'svc', units: [{ name: 'changes', kind: 'cdc', tables: ['posts'] }] }).units[0]!;
    const a = createAutoscaler(cdc);
    expect(a.decide({ now: 0, current: 2, metrics: { cpuPercent: 400 } })).toMatchObject({ from: 2, to: 2, recommendations: [] });
    expect(a.decide({ now: 1, current: 0, metrics: {} }).to).toBe(1);
    expect(a.decide({ now: 2, current: 5, metrics: {} }).to).toBe(2);
  });
});
