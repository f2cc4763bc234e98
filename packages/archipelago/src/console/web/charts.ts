// Per-unit charts of the last 15 minutes (uPlot), with every scale decision marked on the
// timeline and its reason in the marker's title.
import uPlot from 'uplot';
import { clock, h } from './dom.js';
import type { MetricSample, ScaleDecision, UnitView } from '../source.js';

type Values = Record<string, number | null>;
interface Spec { id: string; title: string; kinds?: readonly string[]; values(s: MetricSample): Values }

const SPECS: readonly Spec[] = [
  { id: 'replicas', title: 'replicas', values: (s) => ({ ready: s.replicas, desired: s.desired }) },
  { id: 'backlog', title: 'backlog (messages)', kinds: ['worker'], values: (s) => mapSubs(s, (b) => b.backlog) },
  { id: 'age', title: 'oldest message age (s)', kinds: ['worker'], values: (s) => mapSubs(s, (b) => (b.oldestAgeMs === null ? 0 : b.oldestAgeMs / 1000)) },
  { id: 'requests', title: 'requests/s and p99 (ms)', kinds: ['api'], values: (s) => ({ 'req/s': s.requestRate ?? null, 'p99 ms': s.p99Ms ?? null }) },
  { id: 'connections', title: 'open connections', kinds: ['realtime'], values: (s) => ({ connections: s.connections ?? null }) },
  { id: 'cpu', title: 'CPU (% of a core) and event-loop lag (ms)', values: (s) => ({ 'cpu %': s.cpu ?? null, 'lag ms': s.eventLoopLagMs ?? null }) },
];
const COLORS = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#0ea5e9', '#84cc16'];

function mapSubs(s: MetricSample, f: (b: { backlog: number; oldestAgeMs: number | null }) => number): Values {
  const out: Values = {};
  for (const [sub, b] of Object.entries(s.backlog ?? {})) out[sub] = f(b);
  return out;
}

interface ChartState { plot: uPlot; labels: string }

class UnitCharts {
  readonly el: HTMLElement;
  readonly #body: HTMLElement;
  readonly #decisionsEl: HTMLElement;
  readonly #charts = new Map<string, ChartState>();
  samples: MetricSample[] = [];
  decisions: ScaleDecision[] = [];

  constructor(readonly unit: string, readonly kind: string) {
    this.#body = h('div', { class: 'charts' });
    this.#decisionsEl = h('ul', { class: 'decisions' });
    this.el = h('div', { class: 'unit-charts', 'data-unit': unit }, h('h3', {}, unit, h('small', {}, ` ${kind}`)), this.#body, this.#decisionsEl);
  }

  render(windowMs: number): void {
    const now = Date.now();
    const cutoff = now - windowMs;
    this.samples = this.samples.filter((s) => s.at >= cutoff);
    this.decisions = this.decisions.filter((d) => d.at >= cutoff);
    const xs = this.samples.map((s) => s.at / 1000);
    for (const spec of SPECS) {
      if (spec.kinds && !spec.kinds.includes(this.kind)) continue;
      const rows = this.samples.map((s) => spec.values(s));
      const labels = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      const hasData = rows.some((r) => Object.values(r).some((v) => v !== null));
      if (!hasData && spec.id !== 'replicas') continue;
      const data: uPlot.AlignedData = [xs, ...labels.map((l) => rows.map((r) => r[l] ?? null))];
      const key = labels.join('\u0000');
      const state = this.#charts.get(spec.id);
      if (state && state.labels === key) {
        state.plot.setData(data);
        continue;
      }
      state?.plot.destroy();
      this.#body.querySelector(`[data-chart="${spec.id}"]`)?.remove();
      const box = h('div', { class: 'chart', 'data-chart': spec.id }, h('div', { class: 'chart-title' }, spec.title));
      this.#insert(spec.id, box);
      const plot = new uPlot({
        width: 360, height: 120,
        legend: { show: labels.length > 1 || spec.id === 'replicas', live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max)] } },
        series: [{}, ...labels.map((l, i) => ({ label: l, stroke: COLORS[i % COLORS.length], width: 1.5, points: { show: false }, paths: spec.id === 'replicas' ? uPlot.paths.stepped!({ align: 1 }) : undefined }))],
        axes: [{ size: 30 }, { size: 40 }],
        hooks: { draw: [(u) => this.#markers(u)] },
      }, data, box);
      this.#charts.set(spec.id, { plot, labels: key });
    }
    this.#decisionsEl.replaceChildren(...this.decisions.slice(-5).reverse().map((d) =>
      h('li', { class: 'decision', title: d.reason }, `${clock(d.at)} ${d.from} → ${d.to}: ${d.reason}`)));
  }

  #insert(id: string, box: HTMLElement): void {
    const order = SPECS.map((s) => s.id);
    const after = Array.from(this.#body.children).find((c) => order.indexOf((c as HTMLElement).dataset.chart ?? '') > order.indexOf(id));
    this.#body.insertBefore(box, after ?? null);
  }

  // Markers are DOM elements over the canvas so that their reason shows as a native tooltip.
  #markers(u: uPlot): void {
    u.over.querySelectorAll('.decision-marker').forEach((m) => m.remove());
    const [min, max] = [u.scales.x?.min, u.scales.x?.max];
    if (min === undefined || max === undefined) return;
    for (const d of this.decisions) {
      const x = d.at / 1000;
      if (x < min - 1 || x > max + 1) continue;
      const left = Math.min(Math.max(u.valToPos(x, 'x'), 0), u.over.clientWidth - 1);
      u.over.append(h('div', {
        class: `decision-marker ${d.to > d.from ? 'up' : d.to < d.from ? 'down' : ''}`, 'data-unit': d.unit,
        style: `left:${left}px`, title: `${clock(d.at)} ${d.from} → ${d.to}: ${d.reason}`,
      }));
    }
  }

  destroy(): void {
    for (const c of this.#charts.values()) c.plot.destroy();
  }
}

export class Charts {
  readonly #units = new Map<string, UnitCharts>();
  #windowMs = 15 * 60_000;
  #scheduled = false;

  constructor(readonly root: HTMLElement) {}

  reset(units: readonly UnitView[], history: Record<string, MetricSample[]>, decisions: readonly ScaleDecision[], windowMs: number): void {
    this.#windowMs = windowMs;
    for (const c of this.#units.values()) c.destroy();
    this.#units.clear();
    this.root.replaceChildren();
    this.syncUnits(units);
    for (const [name, samples] of Object.entries(history)) { const c = this.#units.get(name); if (c) c.samples = [...samples]; }
    for (const d of decisions) this.#units.get(d.unit)?.decisions.push(d);
    this.#schedule();
  }

  syncUnits(units: readonly UnitView[]): void {
    for (const u of units) {
      // A cron or job run is one process at a time: its runs table says more than a chart.
      if (this.#units.has(u.name) || u.kind === 'cron' || u.kind === 'job') continue;
      const c = new UnitCharts(u.name, u.kind);
      this.#units.set(u.name, c);
      this.root.append(c.el);
    }
  }

  addSamples(samples: Record<string, MetricSample>): void {
    for (const [name, s] of Object.entries(samples)) this.#units.get(name)?.samples.push(s);
    this.#schedule();
  }

  addDecision(d: ScaleDecision): void {
    this.#units.get(d.unit)?.decisions.push(d);
    this.#schedule();
  }

  // Coalesce bursts of events into one redraw per frame; hidden tabs redraw when shown again.
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const run = () => { this.#scheduled = false; for (const c of this.#units.values()) c.render(this.#windowMs); };
    if (document.hidden) setTimeout(run, 1000); else requestAnimationFrame(run);
  }
}
