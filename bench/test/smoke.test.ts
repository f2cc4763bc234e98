// Runs every benchmark scenario at its small size so none rots: each asserts its own counts
// (connections held, digests sent exactly once, deliveries) and throws otherwise; here the figures
// must be well formed. Never asserts timings, and never writes bench/results or BENCHMARKS.md.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarios, renderTable, resultsDir, runScenario } from '../src/run.js';

const scenarios = await loadScenarios();
const snapshot = () => (existsSync(resultsDir) ? readdirSync(resultsDir).map((f) => `${f}:${statSync(path.join(resultsDir, f)).mtimeMs}`).sort() : []);
const before = snapshot();

describe('benchmarks at small size', () => {
  it('has the scenarios the issue asks for', () => {
    expect(scenarios.map((s) => s.name)).toEqual(expect.arrayContaining(['api', 'cdc', 'digest', 'isolation', 'realtime']));
  });
  for (const s of scenarios) {
    it(`${s.name} runs and reports figures`, async () => {
      const r = await runScenario(s, 'small');
      expect(r.scenario).toBe(s.name);
      expect(r.size).toBe('small');
      expect(r.figures.length).toBeGreaterThan(0);
      for (const f of r.figures) {
        expect(f.name.length, 'figure name').toBeGreaterThan(0);
        expect(Number.isFinite(f.ours), `${f.name} ours`).toBe(true);
        expect(Number.isFinite(f.baseline), `${f.name} baseline`).toBe(true);
        expect(Number.isFinite(f.ratio), `${f.name} ratio`).toBe(true);
      }
      expect(renderTable([r])).toContain(s.name);
    }, 300_000);
  }
  afterAll(() => {
    expect(snapshot()).toEqual(before);
  });
});
