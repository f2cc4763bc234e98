// An in-memory ConsoleSource for tests of the console alone: four units, one subscription with
// dead letters, and actions that change state the way the supervisor would.
import { EventEmitter } from 'node:events';
import { ArchipelagoError } from '../../src/errors.js';
import { TraceStore } from '../../src/tracing/store.js';
import { otlpExport } from '../tracing/otlp.js';
import type { DeadLetter } from '../../src/messaging/broker.js';
import type { ConsoleEvent, ConsoleSnapshot, ConsoleSource, LogLine, RunView, ScaleDecision, TopicView, UnitView } from '../../src/console/source.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The fixture's one trace: web's request and the mailer's failed delivery. */
export const FIXTURE_TRACE = 'c0ffee'.padEnd(32, '0');

export class FixtureSource implements ConsoleSource {
  readonly pollingMs = 200;
  readonly #events = new EventEmitter();
  readonly units: Mutable<UnitView>[];
  readonly logs: LogLine[] = [];
  readonly decisions: ScaleDecision[] = [];
  backlog = 0;
  deadLetterList: DeadLetter[] = [];
  readonly cronRuns: RunView[] = [];
  readonly jobRuns: RunView[] = [];
  actions: string[] = [];

  constructor() {
    const base = { health: 'healthy' as const, restarts: 0, backoffMs: null };
    this.units = [
      { ...base, name: 'web', kind: 'api', port: 3000, replicas: { ready: 1, desired: 1, min: 1, max: 3 }, replicaList: [{ id: 'web-1', state: 'ready', restarts: 0 }] },
      { ...base, name: 'mailer', kind: 'worker', health: 'idle', replicas: { ready: 0, desired: 0, min: 0, max: 4 }, subscriptions: ['mailer-send'] },
      { ...base, name: 'nightly', kind: 'cron', replicas: { ready: 0, desired: 0, min: 0, max: 1 }, cron: { schedule: '0 3 * * *', timezone: 'UTC', nextRunAt: new Date(Date.now() + 3_600_000).toISOString(), lastRuns: this.cronRuns } },
      { ...base, name: 'backfill', kind: 'job', replicas: { ready: 0, desired: 0, min: 0, max: 1 }, job: { runOn: 'manual', lastRuns: this.jobRuns } },
    ];
    const now = new Date();
    this.deadLetterList = [{ id: 'msg-1', subscription: 'mailer-send', topic: 'mail', payload: { to: 'ada@example.com' }, error: 'SMTP 550 mailbox unavailable', attempts: 5, publishedAt: now, failedAt: now }];
    this.log('web', 'web-1', 'info', 'listening on :3000');
    // One trace across two units, and a log line written inside it.
    const t0 = Date.now();
    this.traceStore.add(otlpExport('web', [{ traceId: FIXTURE_TRACE, spanId: '1'.repeat(16), name: 'POST /mail', kind: 2, startMs: t0, ms: 12 }]));
    this.traceStore.add(otlpExport('mailer', [{ traceId: FIXTURE_TRACE, spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), name: 'process mail', kind: 5, startMs: t0 + 5, ms: 20, error: true }]));
    const line = { at: Date.now(), unit: 'mailer', replica: 'mailer-1', level: 'info' as const, msg: 'sending', traceId: FIXTURE_TRACE };
    this.logs.push(line);
  }

  readonly traceStore = new TraceStore();
  readonly traces = { list: () => this.traceStore.list(), get: (id: string) => this.traceStore.get(id) };

  snapshot(): ConsoleSnapshot {
    return structuredClone({ service: 'fixture', units: this.units });
  }
  subscribe(listener: (e: ConsoleEvent) => void): () => void {
    this.#events.on('e', listener);
    return () => this.#events.off('e', listener);
  }
  recentLogs(): readonly LogLine[] { return this.logs; }
  recentDecisions(): readonly ScaleDecision[] { return this.decisions; }
  load() {
    return { web: { cpu: 3, eventLoopLagMs: 1.2, requestRate: 10, p99Ms: 4 }, mailer: { cpu: this.unit('mailer').replicas.ready * 20 } };
  }

  unit(name: string): Mutable<UnitView> {
    const u = this.units.find((x) => x.name === name);
    if (!u) throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `no unit "${name}"`);
    return u;
  }
  log(unit: string, replica: string, level: LogLine['level'], msg: string): void {
    const line = { at: Date.now(), unit, replica, level, msg };
    this.logs.push(line);
    this.#events.emit('e', { type: 'log', line });
  }
  decide(unit: string, to: number, reason: string): void {
    const u = this.unit(unit);
    const d = { at: Date.now(), unit, from: u.replicas.desired, to, reason };
    u.replicas = { ...u.replicas, desired: to, ready: to };
    this.decisions.push(d);
    this.#events.emit('e', { type: 'decision', decision: d });
    this.#events.emit('e', { type: 'change' });
  }
  /** Publishes `n` messages: the mailer scales on its backlog target of 10 per replica. */
  burst(n: number): void {
    this.backlog += n;
    this.decide('mailer', Math.min(4, Math.ceil(this.backlog / 10)), `backlog ${this.backlog} / target 10 per replica`);
  }

  async scale(unit: string, replicas: number): Promise<void> {
    const u = this.unit(unit);
    if (replicas < u.replicas.min || replicas > u.replicas.max) throw new ArchipelagoError('ARCH_E_SCALE_RANGE', `${unit}: ${replicas} is outside ${u.replicas.min}..${u.replicas.max}`);
    this.actions.push(`scale ${unit} ${replicas}`);
    this.decide(unit, replicas, 'manual scale from the console');
  }
  async runCron(unit: string): Promise<void> {
    this.actions.push(`cron ${unit}`);
    this.unit(unit);
    const at = new Date().toISOString();
    this.cronRuns.push({ id: `run-${this.cronRuns.length + 1}`, startedAt: at, finishedAt: at, status: 'succeeded', trigger: 'manual' });
    this.log(unit, `${unit}-run`, 'info', 'nightly run finished');
    this.#events.emit('e', { type: 'change' });
  }
  async runJob(unit: string): Promise<void> {
    this.actions.push(`job ${unit}`);
    const at = new Date().toISOString();
    this.jobRuns.push({ id: `run-${this.jobRuns.length + 1}`, startedAt: at, finishedAt: null, status: 'running', trigger: 'manual' });
    this.#events.emit('e', { type: 'change' });
  }
  async topics(): Promise<readonly TopicView[]> {
    return [{ topic: 'mail', subscriptions: [{ subscription: 'mailer-send', topic: 'mail', unit: 'mailer', backlog: this.backlog, oldestAgeMs: this.backlog ? 1500 : null, deadLetters: this.deadLetterList.length }] }];
  }
  deadLetters = {
    list: async (sub: string) => this.#sub(sub, () => this.deadLetterList),
    get: async (sub: string, id: string) => this.#sub(sub, () => this.deadLetterList.find((d) => d.id === id)),
    replay: async (sub: string, ids?: readonly string[]) => this.#sub(sub, () => {
      const moved = this.deadLetterList.filter((d) => !ids || ids.includes(d.id));
      this.deadLetterList = this.deadLetterList.filter((d) => !moved.includes(d));
      for (const d of moved) this.log('mailer', 'mailer-1', 'info', `handled ${d.id} on replay`);
      this.actions.push(`replay ${moved.map((d) => d.id).join(',')}`);
      return moved.length;
    }),
    purge: async (sub: string, ids?: readonly string[]) => this.#sub(sub, () => {
      const before = this.deadLetterList.length;
      this.deadLetterList = this.deadLetterList.filter((d) => ids && !ids.includes(d.id));
      return before - this.deadLetterList.length;
    }),
  };
  #sub<T>(sub: string, f: () => T): T {
    if (sub !== 'mailer-send') throw new ArchipelagoError('ARCH_E_SUBSCRIPTION_UNKNOWN', `no subscription "${sub}"`);
    return f();
  }
}
