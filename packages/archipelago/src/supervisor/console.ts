// Serves the local console for a running supervisor: adapts its state, actions and the service's
// broker to the console's ConsoleSource, so console/ never reads supervisor internals.
import { ArchipelagoError, isArchipelagoError } from '../errors.js';
import type { ConsoleEvent, ConsoleSource, LogLevel, LogLine, RunView, ScaleDecision, TopicView, UnitLoad, UnitView } from '../console/source.js';
import { startConsole, type ConsoleHandle } from '../console/server.js';
import type { Broker, SubscriptionSpec } from '../messaging/broker.js';
import type { CronRun, JobRun, LogLine as SupervisorLogLine, ScaleDecision as SupervisorDecision, UnitStatus } from './state.js';
import type { Supervisor } from './supervisor.js';

const LEVELS: Record<number, LogLevel> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'unit', 'replica', 'v', 'trace_id', 'span_id']);

export interface SupervisorConsoleSource extends ConsoleSource {
  close(): Promise<void>;
}

/** The ConsoleSource of a started supervisor, on its broker session (topics and dead letters). */
export function supervisorConsoleSource(sup: Supervisor): SupervisorConsoleSource {
  const state = sup.state;
  const handlers = sup.handlers();
  const listeners = new Set<(e: ConsoleEvent) => void>();
  const emit = (e: ConsoleEvent) => { for (const l of listeners) l(e); };

  const readCatalog = () => sup.session.catalog();
  const subscriptions = async (): Promise<readonly SubscriptionSpec[]> => [...(await readCatalog()).subscriptions.values()].flat();
  const runOn = new Map(sup.service.units.flatMap((u) => (u.kind === 'job' ? [[u.name, u.runOn] as const] : [])));
  // The supervisor's session: its subscriptions were provisioned before any unit started.
  const openBroker = (): Promise<Broker> => sup.session.broker();
  const knownSubscription = async (name: string): Promise<Broker> => {
    if (!(await subscriptions()).some((s) => s.name === name)) throw new ArchipelagoError('ARCH_E_SUBSCRIPTION_UNKNOWN', `no unit of service "${sup.service.name}" subscribes as "${name}"`);
    return openBroker();
  };

  const onChange = () => emit({ type: 'change' });
  const onScale = (d: SupervisorDecision) => emit({ type: 'decision', decision: toDecision(d) });
  const onLog = (l: SupervisorLogLine) => emit({ type: 'log', line: toLogLine(l) });

  return {
    snapshot: () => {
      const snap = state.snapshot();
      return { service: snap.service, units: snap.units.map((u) => toUnitView(u, runOn.get(u.name))) };
    },
    subscribe(listener) {
      if (listeners.size === 0) {
        state.on('change', onChange);
        state.on('scale', onScale);
        state.on('log', onLog);
      }
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size > 0) return;
        state.off('change', onChange);
        state.off('scale', onScale);
        state.off('log', onLog);
      };
    },
    recentLogs: () => state.logs.map(toLogLine),
    ...(sup.traces ? { traces: { list: () => sup.traces!.list(), get: (id: string) => sup.traces!.get(id) } } : {}),
    recentDecisions: () => state.history.map(toDecision),
    pollingMs: sup.tuning.pollingMs,
    load: () => Object.fromEntries([...state.units.values()].map((u) => [u.name, toLoad(u)])),
    async scale(unit, replicas) {
      await handlers.scale(unit, replicas);
    },
    async runCron(unit) {
      return handlers.cronRun(unit);
    },
    async runJob(unit) {
      const def = sup.service.units.find((u) => u.name === unit);
      if (!def || def.kind !== 'job') throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `service "${sup.service.name}" has no job unit "${unit}"`);
      // The console answers at once; the run is recorded by the supervisor, its end shows up as a change.
      void handlers.jobRun(unit, []).catch((e: unknown) => sup.logs.warn(`console: job ${unit} did not run: ${(e as Error).message}`));
      return { started: true };
    },
    async topics(): Promise<readonly TopicView[]> {
      const subs = await subscriptions();
      const b = subs.length ? await openBroker() : undefined;
      const byTopic = new Map<string, TopicView['subscriptions'][number][]>();
      for (const t of (await readCatalog()).published) byTopic.set(t, []);
      for (const s of subs) {
        const stats = await b!.stats(s.name);
        const list = byTopic.get(s.topic) ?? [];
        list.push({ ...stats, unit: s.unit });
        byTopic.set(s.topic, list);
      }
      return [...byTopic].sort(([a], [b2]) => a.localeCompare(b2)).map(([topic, subscriptions]) => ({ topic, subscriptions }));
    },
    deadLetters: {
      list: async (sub, opts) => (await knownSubscription(sub)).deadLetters.list(sub, opts),
      get: async (sub, id) => (await knownSubscription(sub)).deadLetters.get(sub, id),
      replay: async (sub, ids) => (await knownSubscription(sub)).deadLetters.replay(sub, ids),
      purge: async (sub, ids) => (await knownSubscription(sub)).deadLetters.purge(sub, ids),
    },
    async close() {
      listeners.clear();
      state.off('change', onChange);
      state.off('scale', onScale);
      state.off('log', onLog);
    },
  };
}

/**
 * Starts the console for `up`. A console that cannot start (port taken) does not stop the service:
 * it is a convenience, so it warns and the supervisor runs on.
 */
export async function attachConsole(sup: Supervisor, opts: { port?: number; host?: string } = {}): Promise<{ handle: ConsoleHandle; close(): Promise<void> } | undefined> {
  const source = supervisorConsoleSource(sup);
  try {
    const handle = await startConsole({ source, port: opts.port, host: opts.host, print: (line) => sup.logs.info(line) });
    return { handle, close: async () => { await handle.close(); await source.close(); } };
  } catch (e) {
    await source.close().catch(() => {});
    sup.logs.warn(`console not started: ${isArchipelagoError(e) ? e.message : String(e)}`);
    return undefined;
  }
}

function toUnitView(u: UnitStatus, runOn: 'deploy' | 'manual' | undefined): UnitView {
  const next = u.backoff?.nextStartAt ? Date.parse(u.backoff.nextStartAt) - Date.now() : null;
  return {
    name: u.name, kind: u.kind, health: u.health, restarts: u.restarts,
    replicas: { ...u.replicas },
    backoffMs: u.backoff ? Math.max(0, next ?? u.backoff.delayMs) : null,
    replicaList: u.replicaList.map((r) => ({ id: r.id, pid: r.pid ?? undefined, state: r.state, restarts: r.restarts })),
    ...(u.port !== null ? { port: u.port } : {}),
    ...(u.cron ? { cron: { schedule: u.cron.schedule, timezone: u.cron.timezone, nextRunAt: u.cron.next, lastRuns: u.cron.runs.map(toRunView) } } : {}),
    ...(u.kind === 'job' ? { job: { runOn: runOn ?? 'manual', lastRuns: (u.jobRuns ?? []).map(toRunView) } } : {}),
  };
}

function toRunView(r: CronRun | JobRun, i: number): RunView {
  const status = r.outcome === 'running' ? 'running' : r.outcome === 'ok' ? 'succeeded' : r.outcome === 'skipped' ? 'skipped' : 'failed';
  return {
    id: 'id' in r ? r.id : `${r.startedAt}-${i}`, startedAt: r.startedAt, finishedAt: r.finishedAt, status,
    ...('trigger' in r ? { trigger: r.trigger } : {}),
    ...(status === 'failed' ? { error: `${r.outcome}${r.exitCode !== null ? ` (exit code ${r.exitCode})` : ''}` } : {}),
  };
}

function toLoad(u: UnitStatus): UnitLoad {
  const live = u.replicaList.filter((r) => r.state !== 'exited' && r.state !== 'backoff');
  if (live.length === 0) return {};
  const sum = (f: (r: UnitStatus['replicaList'][number]) => number | null | undefined) => live.reduce<number | undefined>((s, r) => { const v = f(r); return typeof v === 'number' ? (s ?? 0) + v : s; }, undefined);
  const max = (f: (r: UnitStatus['replicaList'][number]) => number | null | undefined) => live.reduce<number | undefined>((m, r) => { const v = f(r); return typeof v === 'number' ? Math.max(m ?? v, v) : m; }, undefined);
  const load: { -readonly [K in keyof UnitLoad]: UnitLoad[K] } = { cpu: sum((r) => r.cpu), eventLoopLagMs: max((r) => r.eventLoopLagMs) };
  if (u.kind === 'api') { load.requestRate = sum((r) => r.requestRate); load.p99Ms = max((r) => r.p99Ms); }
  if (u.kind === 'realtime') load.connections = sum((r) => r.connections);
  return load;
}

function toDecision(d: SupervisorDecision): ScaleDecision {
  const shown = Object.entries(d.metrics).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}=${Math.round((v as number) * 10) / 10}`).join(' ');
  return { at: Date.parse(d.at), unit: d.unit, from: d.from, to: d.to, reason: `${d.source === 'manual' ? 'manual' : d.reason}${shown ? ` (${shown})` : ''}` };
}

function toLogLine(l: SupervisorLogLine): LogLine {
  let level: LogLevel = l.stream === 'stderr' ? 'error' : 'info';
  let msg = l.line;
  let traceId: string | undefined;
  if (l.line.startsWith('{')) {
    try {
      const o = JSON.parse(l.line) as Record<string, unknown>;
      if (typeof o.level === 'number') level = LEVELS[o.level] ?? level;
      if (typeof o.trace_id === 'string') traceId = o.trace_id;
      const extra = Object.entries(o).filter(([k]) => !OMIT.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      msg = [String(o.msg ?? ''), ...extra].filter(Boolean).join(' ');
    } catch {}
  }
  return { at: Date.parse(l.at), unit: l.unit, replica: l.replica, level, msg, ...(traceId ? { traceId } : {}) };
}
