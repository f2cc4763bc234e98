// A fast worker with a steady stream: between polls almost nothing waits, but every replica is busy.
// Counted as outstanding work (waiting + in flight, what both brokers' backlog is) the unit keeps its
// replicas; counted as waiting only it would be scaled in under load.
import { describe, expect, it } from 'vitest';
import { simulate, type TraceSample } from '../../src/scaling/index.js';
import { workerUnit } from './units.js';

describe('outstanding-work scaling', () => {
  const unit = workerUnit({ replicas: { min: 1, max: 8 }, scale: { backlog: 10, behavior: { scaleDown: { stabilization: '10s' } } } });
  // Four replicas, each holding 10 messages in flight; 0–2 waiting at each 2 s poll, for two minutes.
  const rounds = Array.from({ length: 60 }, (_, i) => ({ at: i * 2000, waiting: i % 3, inFlight: 40 }));

  it('waiting + in flight keeps all four busy replicas while the stream lasts', () => {
    const trace: TraceSample[] = rounds.map((r) => ({ at: r.at, metrics: { backlog: r.waiting + r.inFlight, oldestAgeMs: 100 } }));
    expect(new Set(simulate(unit, trace, 4).map((s) => s.to))).toEqual(new Set([4]));
  });

  it('waiting alone would scale the busy unit in to one replica', () => {
    const trace: TraceSample[] = rounds.map((r) => ({ at: r.at, metrics: { backlog: r.waiting, oldestAgeMs: 100 } }));
    expect(simulate(unit, trace, 4).at(-1)!.to).toBe(1);
  });
});
