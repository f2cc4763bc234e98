// Server-side history of metric samples per unit, kept for a fixed window (15 minutes by default),
// so a page opened late still sees the recent past.
import type { ConsoleSnapshot, MetricSample, TopicView, UnitLoad } from './source.js';

export const HISTORY_MS = 15 * 60_000;

export class MetricHistory {
  readonly #samples = new Map<string, MetricSample[]>();
  readonly #windowMs: number;

  constructor(windowMs = HISTORY_MS) {
    this.#windowMs = windowMs;
  }

  /** Records one sample per unit of the snapshot, joined with its load and its subscriptions' backlog. */
  record(at: number, snapshot: ConsoleSnapshot, load: Readonly<Record<string, UnitLoad>>, topics: readonly TopicView[]): Record<string, MetricSample> {
    const backlogByUnit = new Map<string, Record<string, { backlog: number; oldestAgeMs: number | null }>>();
    for (const t of topics) {
      for (const s of t.subscriptions) {
        const m = backlogByUnit.get(s.unit) ?? {};
        m[s.subscription] = { backlog: s.backlog, oldestAgeMs: s.oldestAgeMs };
        backlogByUnit.set(s.unit, m);
      }
    }
    const out: Record<string, MetricSample> = {};
    for (const u of snapshot.units) {
      const sample: MetricSample = {
        ...pickLoad(load[u.name]),
        at, replicas: u.replicas.ready, desired: u.replicas.desired,
        ...(backlogByUnit.has(u.name) ? { backlog: backlogByUnit.get(u.name)! } : {}),
      };
      let list = this.#samples.get(u.name);
      if (!list) this.#samples.set(u.name, (list = []));
      list.push(sample);
      out[u.name] = sample;
    }
    this.prune(at);
    return out;
  }

  prune(now: number): void {
    const cutoff = now - this.#windowMs;
    for (const list of this.#samples.values()) {
      let drop = 0;
      while (drop < list.length && list[drop]!.at < cutoff) drop++;
      if (drop) list.splice(0, drop);
    }
  }

  samples(unit: string): readonly MetricSample[] {
    return this.#samples.get(unit) ?? [];
  }

  all(): Record<string, readonly MetricSample[]> {
    return Object.fromEntries(this.#samples);
  }
}

function pickLoad(l: UnitLoad | undefined): UnitLoad {
  if (!l) return {};
  const out: Record<string, number> = {};
  for (const k of ['cpu', 'eventLoopLagMs', 'requestRate', 'p99Ms', 'connections'] as const) {
    const v = l[k];
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}
