// simulate() replays readings through a unit's rules: the same rules give the same decisions the live
// loop made; another target gives another timeline (how to pick a target before deploying it).
import { describe, expect, it } from 'vitest';
import { createAutoscaler, simulate, type TraceSample } from '../../src/scaling/index.js';
import { workerUnit } from './units.js';

// A digest-like storm: 4,000 messages arrive, drain at 40 per replica per poll, then nothing.
function record(unit: ReturnType<typeof workerUnit>): TraceSample[] {
  const scaler = createAutoscaler(unit);
  const samples: TraceSample[] = [];
  let current = unit.replicas.min, backlog = 0;
  for (let i = 0; i < 200; i++) {
    if (i === 3) backlog += 4000;
    backlog = Math.max(0, backlog - 40 * current);
    const metrics = { backlog, oldestAgeMs: backlog > 0 ? 5000 : null };
    const d = scaler.decide({ now: i * 2000, current, metrics });
    samples.push({ at: i * 2000, current, metrics, to: d.to });
    current = d.to;
  }
  return samples;
}

describe('simulate', () => {
  const declared = workerUnit({ replicas: { min: 0, max: 8 }, scale: { backlog: 100, cooldown: '30s', behavior: { scaleDown: { stabilization: '20s' } } } });
  const trace = record(declared);

  it('with the recorded rules it reproduces every decision of the recording', () => {
    expect(simulate(declared, trace).map((s) => s.to)).toEqual(trace.map((s) => s.to));
    expect(Math.max(...trace.map((s) => s.to!))).toBe(8);
  });

  it('a higher backlog target gives a different, lower timeline', () => {
    const alt = workerUnit({ replicas: { min: 0, max: 8 }, scale: { backlog: 1000, cooldown: '30s', behavior: { scaleDown: { stabilization: '20s' } } } });
    const b = simulate(alt, trace);
    expect(b.map((s) => s.to)).not.toEqual(trace.map((s) => s.to));
    expect(Math.max(...b.map((s) => s.to))).toBe(4);
  });
});
