// The local orchestrator behind `archipelago up`: database, deploy jobs, long-running units at their
// minimum, crons, probes and restarts, the autoscaler loop, the control endpoint, ordered shutdown.
// Two ways to run the long-running units, one supervisor: a process per replica (the default), or
// every unit in this one process (`--single-process`: tiny setups, the isolation benchmark's
// baseline). Deploy jobs, provisioning, capture, crons and the database are the same in both.
import cluster from 'node:cluster';
import { ArchipelagoError } from '../errors.js';
import { forEnvironment, LOCAL_ENVIRONMENT } from '../service/environments.js';
import type { ResolvedService, ResolvedUnit, ResolvedJobUnit } from '../service/types.js';
import { AutoscaleLoop, type BacklogReader } from './autoscale-loop.js';
import { startControlServer, type ControlHandlers } from './control.js';
import { openDatabase, type SupervisorDatabase } from './supervised-database.js';
import { startCollector, type TraceCollector } from '../tracing/collector.js';
import type { TraceStore } from '../tracing/store.js';
import { startBackendPriorities } from './db-priority.js';
import { checkSecrets, traceEnv } from './env.js';
import { LogMux } from './logs.js';
import { tuningFromEnv, type Tuning } from './probes.js';
import { SupervisorState, type JobRun } from './state.js';
import { CronRecords } from './cron-records.js';
import { CronRunner, TaskRun } from './tasks.js';
import { UnitRunner } from './unit.js';
import { BrokerSession } from './session.js';
import { runInProcess } from '../units/start.js';
import type { Replica } from '../units/replica.js';
import { kindOf, listens, longRunning } from '../service/kinds.js';

export interface SupervisorOptions {
  /** Unit names to run; all when omitted. */
  only?: readonly string[];
  json?: boolean;
  color?: boolean;
  tuning?: Tuning;
  write?: (text: string) => void;
  /** Reads a worker unit's backlog; the broker's stats by default. */
  readBacklog?: BacklogReader;
  /** `processes` (default): a process per replica. `in-process`: every long-running unit in this process, one replica each. */
  strategy?: 'processes' | 'in-process';
  /** Collect the replicas' traces (OTLP/HTTP on a loopback port) for the console. Default false. */
  traces?: boolean;
}


export class Supervisor {
  readonly state: SupervisorState;
  readonly logs: LogMux;
  readonly tuning: Tuning;
  private db: SupervisorDatabase | undefined;
  private dbPriorities: { stop(): Promise<void> } | undefined;
  private control: { close(): Promise<void> } | undefined;
  private readonly runners = new Map<string, UnitRunner>();
  private readonly crons = new Map<string, CronRunner>();
  private readonly jobs = new Set<TaskRun>();
  private autoscaler: AutoscaleLoop | undefined;
  private jobSeq = 0;
  private stopping: Promise<void> | undefined;
  private backlogReady: Promise<unknown> | undefined;
  /** Settles once every unit is registered: control requests that name a unit wait for it. */
  private readonly registered = resolvers();
  /** The in-process replica of the `in-process` strategy, and how it ended. */
  private inProcess: Replica | undefined;
  private readonly endedBy = resolvers<number>();
  /** Resolves with an exit code when the units' own process ended them (the in-process strategy only). */
  readonly ended: Promise<number> = this.endedBy.promise;
  /** The exit code `archipelago up` should end with: 1 when a drain cut work. */
  exitCode = 0;
  private collector: TraceCollector | undefined;

  /** The recent traces of the replicas, when this supervisor collects them. */
  get traces(): TraceStore | undefined { return this.collector?.store; }

  /** What every replica's environment gets besides its pod's: where to send its spans. */
  private get replicaEnv(): Record<string, string> {
    return this.collector ? traceEnv(this.collector.endpoint) : {};
  }

  /** The declaration as `archipelago up` sees it: units limited to other environments are not there. */
  readonly service: ResolvedService;
  /** The one broker client and catalog of this supervisor (provisioning, backlog, leases, console). */
  readonly session: BrokerSession;

  constructor(declared: ResolvedService, private readonly opts: SupervisorOptions = {}) {
    this.service = forEnvironment(declared, LOCAL_ENVIRONMENT).service;
    const service = this.service;
    this.state = new SupervisorState(service.name, service.root);
    this.logs = new LogMux(this.state, { json: opts.json ?? false, color: opts.color, write: opts.write });
    this.tuning = opts.tuning ?? tuningFromEnv();
    this.session = new BrokerSession(this.service, () => this.databaseUrl, (m) => this.logs.warn(m));
  }

  /** The units this supervisor runs, in declaration order. */
  get units(): readonly ResolvedUnit[] {
    const only = this.opts.only;
    if (only) {
      for (const n of only) if (!this.service.units.some((u) => u.name === n)) throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `--only names unit "${n}", which service "${this.service.name}" does not declare`);
    }
    return this.service.units.filter((u) => !only || only.includes(u.name));
  }

  get databaseUrl(): string {
    if (!this.db) throw new Error('the database is not open yet');
    return this.db.url;
  }

  async start(): Promise<void> {
    const units = this.units;
    // Open from the first moment, so `status` answers during a slow start; requests that name a
    // unit (scale, cron run) wait until the units are registered instead of finding none.
    const h = this.handlers();
    this.control = await startControlServer(this.service.root, {
      ...h,
      scale: async (name, replicas) => { await this.registered.promise; return h.scale(name, replicas); },
      cronRun: async (name, args) => { await this.registered.promise; return h.cronRun(name, args); },
    });
    try {
      // A pod without one of its required secrets does not start; neither does this.
      checkSecrets(this.service, units);
      this.db = await openDatabase(this.service, (m) => this.logs.info(m), {
        backoff: this.tuning.databaseBackoff,
        warn: (m) => this.logs.warn(m),
        changed: (health) => {
          if (this.state.database) this.state.database.health = health;
          for (const name of this.state.units.keys()) this.state.changed(name);
        },
      });
      if (this.opts.traces) this.collector = await startCollector();
      // Background units' queries at their priority too, on a server we started on this machine
      // (or a local one, when asked: `databasePriorities`).
      if (this.db.embedded || this.tuning.databasePriorities) this.dbPriorities = startBackendPriorities(this.service, this.db.url, 1000, (m) => this.logs.warn(m));
      this.state.database = { url: redact(this.db.url), embedded: this.db.embedded, ...(this.db.embedded ? { health: { state: 'up', restarts: 0, lastExit: null, nextStartAt: null } } : {}) };
      // Job units first, so the deploy jobs' runs are recorded like any other.
      for (const unit of units) {
        if (unit.kind === 'job') this.state.addUnit({ name: unit.name, kind: 'job', priority: unit.priority, port: null, replicas: { min: 0, max: 1, desired: 0, ready: 0 }, cron: null });
      }
      await this.runDeployJobs(units);
      await this.prepareCapture(units);
      await this.provision();
      const ctx = { service: this.service, state: this.state, logs: this.logs, tuning: this.tuning, databaseUrl: this.db.url, replicaEnv: this.replicaEnv, releaseLeases: (h: string) => this.releaseLeases(h) };
      // Read the catalog and prepare the broker while the replicas start, not before.
      const reader = this.opts.readBacklog ? Promise.resolve(this.opts.readBacklog) : this.brokerBacklog();
      this.backlogReady = reader;
      reader.catch((e: unknown) => this.logs.warn(`autoscaler: no backlog metrics: ${(e as Error).message}`));
      const readBacklog: BacklogReader = async (unit) => (await reader.catch(() => undefined))?.(unit) ?? null;
      this.autoscaler = new AutoscaleLoop({ state: this.state, logs: this.logs, pollingMs: this.tuning.pollingMs, readBacklog, enabled: this.tuning.autoscale });
      const cronRecords = new CronRecords(this.service.root);
      if (this.opts.strategy === 'in-process') await this.startInProcess(units);
      for (const unit of units) {
        if (this.opts.strategy === 'in-process') {
          if (unit.kind === 'cron') this.crons.set(unit.name, new CronRunner(ctx, unit, cronRecords));
        } else if (longRunning(unit)) {
          const status = this.state.addUnit({
            name: unit.name, kind: unit.kind, priority: unit.priority, port: 'port' in unit ? unit.port : null,
            replicas: { min: unit.replicas.min, max: unit.replicas.max, desired: 0, ready: 0 }, cron: null,
          });
          const runner = new UnitRunner({ ...ctx, unit }, status);
          this.runners.set(unit.name, runner);
          runner.setDesired(kindOf(unit).scalesToZero ? unit.replicas.min : Math.max(1, unit.replicas.min));
          this.autoscaler.add(unit, runner);
        } else if (unit.kind === 'cron') {
          this.crons.set(unit.name, new CronRunner(ctx, unit, cronRecords));
        }
      }
      this.registered.resolve();
      for (const unit of units) {
        if ('port' in unit && listens(unit)) this.logs.info(`${unit.name} (${unit.kind}) on http://localhost:${unit.port}`, { unit: unit.name, url: `http://localhost:${unit.port}` });
      }
    } catch (e) {
      this.registered.reject(new ArchipelagoError('ARCH_E_USAGE', `the supervisor did not start: ${(e as Error).message}`));
      this.registered.promise.catch(() => {});
      await this.stop();
      throw e;
    }
  }

  /** The cdc relay's slot must exist before any unit writes, or early changes never reach the stream. */
  private async prepareCapture(units: readonly ResolvedUnit[]): Promise<void> {
    const cdc = units.filter((u) => u.kind === 'cdc');
    if (cdc.length === 0) return;
    const [{ prepareCapture }, { default: pg }, { default: pino }] = await Promise.all([import('../cdc/prepare.js'), import('pg'), import('pino')]);
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      const logger = pino({ level: 'warn' });
      for (const u of cdc) {
        await prepareCapture(client, this.service.name, u.name, u.tables, logger);
        this.logs.info(`change capture ready for ${u.name} (${u.tables.join(', ')})`, { unit: u.name });
      }
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Releases a dead replica's leases at once, on the session's broker. */
  private async releaseLeases(holder: string): Promise<number> {
    return (await this.session.broker()).releaseHolder(holder);
  }

  /** Every declared subscription exists before any unit starts, whatever `--only` says: none loses messages. */
  private async provision(): Promise<void> {
    const { provisionService } = await import('../messaging/provisioning.js');
    await provisionService(this.service, this.databaseUrl, { broker: await this.session.broker(), log: (line) => (line.startsWith('orphaned') ? this.logs.warn(line) : this.logs.info(line)) });
  }

  private async runDeployJobs(units: readonly ResolvedUnit[]): Promise<void> {
    for (const unit of units) {
      if (unit.kind !== 'job' || unit.runOn !== 'deploy') continue;
      this.logs.info(`running deploy job ${unit.name}`, { unit: unit.name });
      const r = await this.runJob(unit, [], 'deploy');
      if (r.code !== 0) {
        throw new ArchipelagoError('ARCH_E_DEPLOY_JOB_FAILED', `deploy job "${unit.name}" failed (${r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`}); nothing was started. Its output:\n${r.output.trimEnd()}`);
      }
    }
  }

  private async runJob(unit: ResolvedJobUnit, args: readonly string[], trigger: JobRun['trigger'] = 'manual'): Promise<{ run: string; code: number | null; signal: string | null; output: string; outcome: string }> {
    const id = `${unit.name}-${++this.jobSeq}`;
    const record: JobRun = { id, trigger, startedAt: new Date().toISOString(), finishedAt: null, exitCode: null, outcome: 'running' };
    this.state.recordJobRun(unit.name, record);
    const run = new TaskRun({ service: this.service, state: this.state, logs: this.logs, tuning: this.tuning, databaseUrl: this.databaseUrl, replicaEnv: this.replicaEnv }, unit, id, args);
    this.jobs.add(run);
    const r = await run.done;
    this.jobs.delete(run);
    Object.assign(record, { finishedAt: new Date().toISOString(), exitCode: r.code, outcome: r.outcome });
    this.state.changed(unit.name);
    this.logs.info(`job ${id} finished: ${r.outcome}`, { unit: unit.name, exitCode: r.code });
    return { run: id, ...r };
  }

  /** Backlog per worker unit from the broker's stats over the unit's own subscriptions. */
  private async brokerBacklog(): Promise<BacklogReader> {
    const { brokerBacklogReader } = await import('./backlog.js');
    const reader = await brokerBacklogReader(this.session, this.units, (m) => this.logs.warn(m));
    return reader.read;
  }

  /** The `in-process` strategy: every long-running unit in one replica in this process, shown as one ready replica each. */
  private async startInProcess(units: readonly ResolvedUnit[]): Promise<void> {
    this.state.mode = 'single-process';
    const names = units.filter((u) => kindOf(u).sharesProcess).map((u) => u.name);
    const replicaId = `${this.service.name}-0`;
    if (names.length > 0) {
      this.inProcess = await runInProcess(this.service, names, {
        databaseUrl: this.databaseUrl, replica: replicaId, signals: false,
        // The units' process is ours: when it ends by itself (an overrun, a failed host), so does the supervisor.
        exit: (code) => { this.exitCode = Math.max(this.exitCode, code); this.endedBy.resolve(code); },
      });
    }
    for (const name of names) {
      const u = units.find((x) => x.name === name)!;
      const s = this.state.addUnit({ name, kind: u.kind, priority: u.priority, port: 'port' in u ? u.port : null, replicas: { min: 1, max: 1, desired: 1, ready: 0 }, cron: null });
      s.replicaList.push({ id: replicaId, slot: 0, pid: process.pid, state: 'ready', startedAt: new Date().toISOString(), adminPort: null, port: s.port,
        inFlight: 0, connections: 0, handled: 0, eventLoopLagMs: 0, cpu: null, memoryBytes: null, restarts: 0, backoffMs: null, nextStartAt: null, lastExit: null });
      this.state.changed(name);
    }
    this.logs.info(`single process: ${names.join(', ') || 'no long-running units'} in pid ${process.pid}`);
  }

  handlers(): ControlHandlers {
    return {
      status: () => this.state.snapshot(),
      logs: (limit) => this.state.logs.slice(-Math.max(1, Math.min(limit, 1000))),
      samples: (unit) => this.state.samples.get(unit) ?? [],
      scale: (name, replicas) => this.scale(name, replicas),
      cronRun: (name, args) => {
        const c = this.crons.get(name);
        if (!c) throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `no cron unit "${name}" runs here (crons: ${[...this.crons.keys()].join(', ') || 'none'})`);
        return c.fire('manual', args);
      },
      jobRun: async (name, args) => {
        const unit = this.service.units.find((u) => u.name === name);
        if (!unit || unit.kind !== 'job') throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `service "${this.service.name}" has no job unit "${name}"`);
        const r = await this.runJob(unit, args);
        return { run: r.run, code: r.code, outcome: r.outcome };
      },
    };
  }

  scale(name: string, replicas: number): { unit: string; from: number; to: number } {
    if (this.opts.strategy === 'in-process') throw new ArchipelagoError('ARCH_E_USAGE', 'a single-process supervisor cannot scale units; run `archipelago up` without --single-process');
    const runner = this.runners.get(name);
    if (!runner) throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `no long-running unit "${name}" runs here (units: ${[...this.runners.keys()].join(', ')})`);
    const unit = this.service.units.find((u) => u.name === name)!;
    const { min, max } = unit.replicas;
    if (!Number.isInteger(replicas) || replicas < min || replicas > max) {
      throw new ArchipelagoError('ARCH_E_SCALE_RANGE', `unit "${name}" scales within ${min}..${max}; ${replicas} is outside (change replicas in archipelago.config.ts to widen it)`);
    }
    const from = runner.desired;
    this.logs.info(`scale ${name}: ${from} -> ${replicas} (manual)`, { unit: name, from, to: replicas });
    this.state.recordScale({ at: new Date().toISOString(), unit: name, from, to: replicas, reason: 'manual', source: 'manual', metrics: {} });
    runner.setDesired(replicas);
    return { unit: name, from, to: replicas };
  }

  /** Stops units in reverse declaration order, each within its grace, then the database. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.autoscaler?.stop();
      // Before the first unit is stopped: a replica of a later unit that exits meanwhile (a group-wide
      // SIGTERM reaches every replica at once) has ended, not crashed, and is not restarted.
      for (const runner of this.runners.values()) runner.hold();
      if (this.inProcess) {
        // Crons first, as in the other order; then the one process drains every unit at once.
        for (const cron of this.crons.values()) await cron.stop();
        this.exitCode = Math.max(this.exitCode, await this.inProcess.shutdown('the supervisor is stopping'));
      }
      const order = [...this.units].reverse();
      for (const unit of order) {
        const cron = this.crons.get(unit.name);
        if (cron) await cron.stop();
        const runner = this.runners.get(unit.name);
        if (runner) {
          this.logs.info(`stopping ${unit.name}`, { unit: unit.name });
          await runner.stop();
        }
      }
      await Promise.all([...this.jobs].map((j) => j.stop(5000, 'failed')));
      await this.backlogReady?.catch(() => {});
      await this.session.close().catch(() => {});
      await this.control?.close();
      await this.dbPriorities?.stop();
      await this.collector?.close();
      await this.db?.stop();
      this.logs.info('stopped');
    })();
    return this.stopping;
  }

  /** Kills every child at once, the database too (it does not get the terminal's Ctrl-C): the second Ctrl-C. */
  forceKill(): void {
    for (const w of Object.values(cluster.workers ?? {})) {
      try { w?.process.kill('SIGKILL'); } catch {}
    }
    this.db?.kill();
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** `Promise.withResolvers` (Node 22) for Node 20. */
function resolvers<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}
