// The shape every benchmark scenario and result file shares.

export type Size = 'small' | 'full';

/** One measured figure: ours beside a baseline measured in the same run; ratio > 1 is better for us. */
export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly ours: number;
  readonly baseline: number;
  readonly ratio: number;
}

export interface Scenario {
  readonly name: string;
  /** Runs the scenario; throws when a correctness check (counts) fails. */
  run(size: Size): Promise<Figure[]>;
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
