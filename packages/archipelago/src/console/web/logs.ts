// The log view: every line from every replica, filterable by unit, replica and level, following
// the newest line unless the reader turns that off.
import { byId, clock, h } from './dom.js';
import type { LogLevel, LogLine } from '../source.js';

const MAX = 2000;
const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

export class Logs {
  #lines: LogLine[] = [];
  readonly #replicas = new Set<string>();
  readonly #units = new Set<string>();
  readonly #root = byId('logs');
  readonly #unit = byId<HTMLSelectElement>('log-unit');
  readonly #replica = byId<HTMLSelectElement>('log-replica');
  readonly #level = byId<HTMLSelectElement>('log-level');
  readonly #follow = byId<HTMLInputElement>('log-follow');

  /** Opens a trace's waterfall; set by the page once the traces view exists. */
  onTrace: ((traceId: string) => void) | undefined;

  constructor() {
    for (const el of [this.#unit, this.#replica, this.#level]) el.addEventListener('change', () => this.#rerender());
    this.#follow.addEventListener('change', () => this.#scroll());
  }

  reset(lines: readonly LogLine[]): void {
    this.#lines = lines.slice(-MAX);
    for (const l of this.#lines) this.#learn(l);
    this.#rerender();
  }

  add(line: LogLine): void {
    this.#lines.push(line);
    this.#learn(line);
    if (this.#lines.length > MAX) {
      this.#lines.splice(0, this.#lines.length - MAX);
      this.#root.firstElementChild?.remove();
    }
    if (this.#matches(line)) this.#root.append(this.#row(line));
    this.#scroll();
  }

  #learn(l: LogLine): void {
    if (!this.#units.has(l.unit)) { this.#units.add(l.unit); this.#unit.append(h('option', { value: l.unit }, l.unit)); }
    if (!this.#replicas.has(l.replica)) { this.#replicas.add(l.replica); this.#replica.append(h('option', { value: l.replica }, l.replica)); }
  }

  #matches(l: LogLine): boolean {
    return (!this.#unit.value || l.unit === this.#unit.value)
      && (!this.#replica.value || l.replica === this.#replica.value)
      && (RANK[l.level] ?? 30) >= RANK[this.#level.value as LogLevel];
  }

  #row(l: LogLine): HTMLElement {
    return h('div', { class: `log ${l.level}`, 'data-unit': l.unit, 'data-replica': l.replica, 'data-level': l.level },
      h('span', { class: 'ts' }, clock(l.at)), h('span', { class: 'src' }, l.replica), h('span', { class: 'lvl' }, l.level), h('span', { class: 'msg' }, l.msg),
      l.traceId ? h('a', { class: 'trace-link', 'data-trace-id': l.traceId, title: `trace ${l.traceId}`, onclick: () => this.onTrace?.(l.traceId!) }, 'trace') : null);
  }

  #rerender(): void {
    this.#root.replaceChildren(...this.#lines.filter((l) => this.#matches(l)).map((l) => this.#row(l)));
    this.#scroll();
  }

  #scroll(): void {
    if (this.#follow.checked) this.#root.scrollTop = this.#root.scrollHeight;
  }
}
