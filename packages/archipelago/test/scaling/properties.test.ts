// Invariants of the autoscaler under random units and metric sequences (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAutoscaler, type Decision, type Metrics } from '../../src/scaling/index.js';
import type { ResolvedUnit } from '../../src/service/types.js';
import { apiUnit, workerUnit } from './units.js';

const RUNS = 300;

const policy = fc.record({ type: fc.constantFrom('pods' as const, 'percent' as const), value: fc.integer({ min: 1, max: 200 }), period: fc.integer({ min: 1, max: 120 }).map((s) => `${s}s`) });
const rules = fc.record({
  stabilization: fc.integer({ min: 0, max: 600 }).map((s) => `${s}s`),
  policies: fc.array(policy, { minLength: 1, maxLength: 3 }),
  select: fc.constantFrom('max' as const, 'min' as const),
}, { requiredKeys: [] });
const behavior = fc.record({ scaleUp: rules, scaleDown: rules }, { requiredKeys: [] });
const bounds = (minFloor: number) => fc.integer({ min: minFloor, max: 5 }).chain((min) => fc.integer({ min: Math.max(min, 1), max: 30 }).map((max) => ({ min, max })));

const apiArb = fc.record({
  replicas: bounds(1),
  scale: fc.record({ cpu: fc.integer({ min: 10, max: 100 }), memory: fc.integer({ min: 10, max: 100 }), connections: fc.integer({ min: 1, max: 500 }), behavior }, { requiredKeys: ['cpu', 'behavior'] }),
}).map((f) => apiUnit(f));
const workerArb = (minFloor: number) => fc.record({
  replicas: bounds(minFloor),
  scale: fc.record({
    backlog: fc.integer({ min: 1, max: 200 }), activation: fc.integer({ min: 0, max: 20 }),
    cooldown: fc.integer({ min: 1, max: 120 }).map((s) => `${s}s`), fallback: fc.integer({ min: 0, max: 10 }), behavior,
  }, { requiredKeys: ['backlog', 'behavior'] }),
}).map((f) => workerUnit(f));

const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: a }, { weight: 1, arbitrary: fc.constant(null) });
const reading = fc.record({
  dtMs: fc.integer({ min: 500, max: 60_000 }),
  metrics: fc.record({
    cpuPercent: maybe(fc.double({ min: 0, max: 400, noNaN: true })), memoryPercent: maybe(fc.double({ min: 0, max: 200, noNaN: true })),
    connections: maybe(fc.integer({ min: 0, max: 20_000 })),
    backlog: maybe(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 }))),
  }),
});
const readings = fc.array(reading, { minLength: 1, maxLength: 60 });

/** Runs the sequence with the supervisor applying every decision; returns the decisions with their times. */
function simulate(unit: ResolvedUnit, start: number, rs: { dtMs: number; metrics: Metrics }[], a = createAutoscaler(unit)): Decision[] {
  let now = 0, current = start;
  return rs.map((r) => {
    now += r.dtMs;
    const d = a.decide({ now, current, metrics: r.metrics });
    current = d.to;
    return d;
  });
}

describe('autoscaler invariants', () => {
  it('never decides a count outside replicas.min..max, whatever the metrics and the starting count', () => {
    fc.assert(fc.property(fc.oneof(apiArb, workerArb(0)), fc.integer({ min: 0, max: 60 }), readings, (unit, start, rs) => {
      const floor = unit.kind === 'api' ? Math.max(unit.replicas.min, 1) : unit.replicas.min;
      for (const d of simulate(unit, start, rs)) {
        expect(d.to).toBeGreaterThanOrEqual(floor);
        expect(d.to).toBeLessThanOrEqual(unit.replicas.max);
      }
    }), { numRuns: RUNS });
  });

  it('makes no change when every metric is within the tolerance of its target, after any history', () => {
    const within = fc.double({ min: 0.901, max: 1.099, noNaN: true });
    fc.assert(fc.property(fc.oneof(apiArb, workerArb(1)), readings, within, within, within, (unit, rs, r1, r2, r3) => {
      // Any history first, then a reading whose every metric sits inside the tolerance.
      const a = createAutoscaler(unit);
      const last = simulate(unit, unit.replicas.min, rs, a).at(-1)!;
      const current = last.to;
      const metrics: Metrics = unit.kind === 'worker'
        ? { backlog: (unit.scale.backlog ?? 1) * current * r1 }
        : unit.kind === 'api'
          ? { cpuPercent: (unit.scale.cpu ?? 50) * r1, memoryPercent: (unit.scale.memory ?? 50) * r2, connections: (unit.scale.connections ?? 1) * current * r3 }
          : {};
      const d = a.decide({ now: last.at + 1000, current, metrics });
      expect(d.to, d.reason).toBe(current);
    }), { numRuns: RUNS });
  });

  it('does not flap inside a stabilisation window: no down-then-up within the scale-up window, no up-then-down within the scale-down window', () => {
    fc.assert(fc.property(fc.oneof(apiArb, workerArb(1)), readings, (unit, rs) => {
      const b = unit.kind === 'api' || unit.kind === 'worker' ? unit.scale.behavior : undefined;
      if (!b) return;
      const changes = simulate(unit, unit.replicas.min, rs).filter((d) => d.to !== d.from);
      for (let i = 0; i + 1 < changes.length; i++) {
        const [p, q] = [changes[i]!, changes[i + 1]!];
        const gap = q.at - p.at;
        if (p.to > p.from && q.to < q.from) expect(gap, `up at ${p.at} then down at ${q.at}`).toBeGreaterThanOrEqual(b.scaleDown.stabilizationMs);
        if (p.to < p.from && q.to > q.from) expect(gap, `down at ${p.at} then up at ${q.at}`).toBeGreaterThanOrEqual(b.scaleUp.stabilizationMs);
      }
    }), { numRuns: RUNS });
  });

  it('scales a worker to zero only after a whole cooldown without an active trigger, and then does', () => {
    fc.assert(fc.property(workerArb(0).filter((u) => u.replicas.min === 0), fc.integer({ min: 1, max: 10 }), readings, (unit, start, rs) => {
      const s = unit.scale;
      let lastActive: number | undefined;
      let failures = 0;
      for (const d of simulate(unit, Math.min(start, unit.replicas.max), rs)) {
        const backlog = d.metrics.backlog ?? null;
        failures = backlog === null ? failures + 1 : 0;
        const active = (backlog !== null && backlog > s.activation) || (s.fallback !== undefined && failures >= 3);
        if (active || lastActive === undefined) lastActive = d.at;
        if (d.from > 0 && d.to === 0) {
          expect(backlog).not.toBeNull();
          expect(backlog!).toBeLessThanOrEqual(s.activation);
          expect(d.at - lastActive).toBeGreaterThanOrEqual(s.cooldownMs);
        } else if (d.from > 0 && !active && backlog !== null && d.at - lastActive >= s.cooldownMs) {
          expect(d.to, d.reason).toBe(0);
        }
      }
    }), { numRuns: RUNS });
  });

  it('with the default activation of 0, a worker reaches zero only when the backlog has been 0 for the whole cooldown', () => {
    const unitArb = fc.integer({ min: 1, max: 30 }).map((cooldown) => workerUnit({ replicas: { min: 0, max: 6 }, scale: { backlog: 10, cooldown: `${cooldown}s` } }));
    const zeroHeavy = fc.array(fc.record({ dtMs: fc.integer({ min: 500, max: 10_000 }), metrics: fc.record({ backlog: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 500 }) }) }) }), { minLength: 1, maxLength: 60 });
    fc.assert(fc.property(unitArb, zeroHeavy, (unit, rs) => {
      const ds = simulate(unit, 1, rs);
      ds.forEach((d, i) => {
        if (!(d.from > 0 && d.to === 0)) return;
        for (const e of ds.slice(0, i + 1)) if (d.at - e.at < unit.scale.cooldownMs) expect(e.metrics.backlog).toBe(0);
        expect(d.at - ds[0]!.at).toBeGreaterThanOrEqual(unit.scale.cooldownMs);
      });
    }), { numRuns: RUNS });
  });
});
