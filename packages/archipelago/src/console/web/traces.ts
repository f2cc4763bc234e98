// Recent traces across units: a list (root route or topic, duration, units crossed, error) and,
// for the trace picked there or from a log line, a waterfall of its spans on one time axis.
import { get } from './api.js';
import { byId, clock, duration, h } from './dom.js';
import type { TraceSpan, TraceSummary, TraceView } from '../source.js';

const POLL_MS = 2000;

export class Traces {
  readonly #list = byId('traces').querySelector('tbody')!;
  readonly #waterfall = byId('waterfall');
  readonly #note = byId('traces-note');
  #open: string | undefined;
  #timer: number | undefined;

  start(): void {
    const tick = () => { void this.refresh().finally(() => { this.#timer = window.setTimeout(tick, POLL_MS); }); };
    tick();
  }

  stop(): void { clearTimeout(this.#timer); }

  async refresh(): Promise<void> {
    let body: { collecting: boolean; traces: TraceSummary[] };
    try {
      body = await get<{ collecting: boolean; traces: TraceSummary[] }>('/api/traces');
    } catch {
      return;
    }
    this.#note.textContent = body.collecting ? '' : 'traces are not collected (archipelago up --no-traces)';
    this.#list.replaceChildren(...(body.traces.length ? body.traces.map((t) => this.#row(t)) : [h('tr', {}, h('td', { class: 'muted', colspan: 5 }, 'no traces yet'))]));
    // An open waterfall fills in as late spans (a delivery, a push) arrive.
    if (this.#open) await this.open(this.#open, true);
  }

  #row(t: TraceSummary): HTMLElement {
    return h('tr', { class: `trace${t.traceId === this.#open ? ' selected' : ''}`, 'data-trace-id': t.traceId, 'data-error': t.error ? 'true' : 'false', onclick: () => void this.open(t.traceId) },
      h('td', { class: 'ts' }, clock(t.startMs)), h('td', { class: 'name root' }, t.root),
      h('td', { class: 'num' }, duration(t.durationMs)), h('td', { class: 'units' }, t.units.join(' → ')),
      h('td', { class: t.error ? 'error' : 'muted' }, t.error ? 'error' : `${t.spans} spans`));
  }

  /** Shows one trace's waterfall; a trace no longer kept says so. */
  async open(traceId: string, quiet = false): Promise<void> {
    this.#open = traceId;
    this.#list.querySelectorAll<HTMLElement>('tr.trace').forEach((r) => r.classList.toggle('selected', r.dataset.traceId === traceId));
    let view: TraceView;
    try {
      view = await get<TraceView>(`/api/traces/${traceId}`);
    } catch (e) {
      if (!quiet) this.#waterfall.replaceChildren(h('p', { class: 'muted' }, `trace ${traceId}: ${(e as Error).message}`));
      return;
    }
    this.#waterfall.dataset.traceId = traceId;
    const total = Math.max(view.durationMs, 0.001);
    const depth = depths(view.items);
    this.#waterfall.replaceChildren(
      h('h3', {}, view.root, ' ', h('small', {}, `${duration(view.durationMs)} · ${view.units.join(' → ')} · ${traceId}`)),
      ...view.items.map((s) => {
        const left = ((s.startMs - view.startMs) / total) * 100;
        const width = Math.max(0.3, (s.durationMs / total) * 100);
        return h('div', { class: `span-row${s.error ? ' error' : ''}`, 'data-span-id': s.spanId, 'data-unit': s.unit, 'data-kind': s.kind, title: attributesText(s) },
          h('span', { class: 'span-unit' }, s.unit),
          h('span', { class: 'span-name', style: `padding-left:${depth.get(s.spanId)! * 10}px` }, s.name, s.links.length ? h('small', {}, ' ↺ link') : null),
          h('span', { class: 'span-track' }, h('span', { class: `span-bar ${s.kind}`, style: `left:${left}%;width:${width}%` })),
          h('span', { class: 'span-ms' }, duration(s.durationMs)));
      }));
  }
}

function depths(spans: readonly TraceSpan[]): Map<string, number> {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const out = new Map<string, number>();
  const depthOf = (s: TraceSpan, seen = 0): number => {
    const known = out.get(s.spanId);
    if (known !== undefined) return known;
    const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    const d = parent && seen < 64 ? depthOf(parent, seen + 1) + 1 : 0;
    out.set(s.spanId, d);
    return d;
  };
  for (const s of spans) depthOf(s);
  return out;
}

function attributesText(s: TraceSpan): string {
  return [`${s.kind} · ${s.replica ?? s.unit}`, ...(s.statusMessage ? [`error: ${s.statusMessage}`] : []), ...Object.entries(s.attributes).map(([k, v]) => `${k}=${String(v)}`)].join('\n');
}
