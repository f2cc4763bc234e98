// The shape every benchmark scenario and result file shares.

export type Size = 'small' | 'full';

/** One measured figure: ours beside a baseline measured in the same run; ratio > 1 is better for us. */
export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly ours: number;
  readonly baseline: number;
  readonly ratio: number;
  /** Set when the figure is the median of several runs: how many, and the spread of `ours` and `ratio`. */
  readonly runs?: number;
  readonly spread?: { readonly ours: readonly [number, number]; readonly ratio: readonly [number, number] };
  /** The highest 1-minute load average seen just before a run; above 1 the machine was not quiet. */
  readonly loadBefore?: number;
}

export interface Scenario {
  readonly name: string;
  /** Runs the scenario; throws when a correctness check (counts) fails. */
  run(size: Size): Promise<Figure[]>;
  /**
   * True when `run` repeats its own measurement (sharing expensive setup such as a seed) and
   * reports medians; otherwise the runner repeats the whole scenario.
   */
  readonly repeatsItself?: boolean;
}

export interface Result {
  readonly scenario: string;
  readonly size: Size;
  readonly machine: { cpus: number; model: string; memoryGiB: number; node: string; platform: string };
  readonly date: string;
  readonly figures: readonly Figure[];
}

/** ratio for "higher is better" figures (throughput). */
export const higher = (ours: number, baseline: number) => (baseline === 0 ? 0 : ours / baseline);
/** ratio for "lower is better" figures (latency): baseline / ours. */
export const lower = (ours: number, baseline: number) => (ours === 0 ? 0 : baseline / ours);

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const range = (xs: readonly number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
const round2 = (n: number) => Number(n.toFixed(2));

/**
 * One figure per name from several runs of the same figures: the median of ours, of the baseline
 * and of the ratio (each run's ratio is computed within that run), with the spread and the
 * highest load average before a run.
 */
export function medianFigures(runs: readonly (readonly Figure[])[], loads: readonly number[]): Figure[] {
  const first = runs[0] ?? [];
  return first.map((f, i) => {
    const col = runs.map((r) => r[i]!);
    const ours = col.map((c) => c.ours), ratio = col.map((c) => c.ratio);
    return {
      name: f.name, unit: f.unit, ours: round2(median(ours)), baseline: round2(median(col.map((c) => c.baseline))), ratio: round2(median(ratio)),
      runs: runs.length, spread: { ours: range(ours), ratio: range(ratio) }, loadBefore: round2(Math.max(...loads)),
    };
  });
}
