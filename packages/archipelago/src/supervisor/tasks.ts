// Runs crons and jobs: each run a fresh `archipelago run <unit>` process. Crons are scheduled as the
// Kubernetes CronJob controller schedules them (schedule/controller.ts) and honour `deadline`.
import type { Worker } from 'node:cluster';
import { mostRecentScheduleTime, nextWakeAt, parseSchedule, syncCron, type CronRecord, type CronSpec } from '../schedule/index.js';
import type { CronRecords } from './cron-records.js';
import type { ResolvedCronUnit, ResolvedJobUnit, ResolvedService } from '../service/types.js';
import type { LogMux } from './logs.js';
import type { Tuning } from './probes.js';
import { forkUnit, signal, terminate, waitExit } from './spawn.js';
import type { CronRun, SupervisorState } from './state.js';

/** What a cron or job run needs from the supervisor (the unit code's own context is `TaskContext`). */
export interface TaskRunContext {
  service: ResolvedService;
  state: SupervisorState;
  logs: LogMux;
  tuning: Tuning;
  databaseUrl: string;
  /** Laid over each run's environment (the trace receiver's endpoint). */
  replicaEnv?: Record<string, string>;
}

export interface TaskResult { code: number | null; signal: string | null; output: string; outcome: CronRun['outcome'] }

/** One run of a cron or job unit, its output kept (the tail) for error reports. */
export class TaskRun {
  readonly worker: Worker;
  readonly done: Promise<TaskResult>;
  private output = '';
  private cut: CronRun['outcome'] | undefined;

  constructor(ctx: TaskRunContext, unit: ResolvedCronUnit | ResolvedJobUnit, runId: string, args: readonly string[] = []) {
    this.worker = forkUnit({ service: ctx.service, unit, replica: runId, databaseUrl: ctx.databaseUrl, args, exec: ctx.tuning.exec, extraEnv: ctx.replicaEnv });
    for (const [stream, kind] of [[this.worker.process.stdout, 'stdout'], [this.worker.process.stderr, 'stderr']] as const) {
      stream?.on('data', (c: Buffer) => { this.output = (this.output + c.toString('utf8')).slice(-8000); });
      ctx.logs.attach(stream, unit.name, runId, kind);
    }
    let deadline: NodeJS.Timeout | undefined;
    if (unit.deadlineMs !== undefined) {
      deadline = setTimeout(() => {
        this.cut ??= 'deadline';
        ctx.logs.warn(`${runId} ran past its deadline (${unit.deadlineMs} ms) and is being stopped`, { unit: unit.name });
        void terminate(this.worker, unit.graceMs);
      }, unit.deadlineMs);
    }
    this.done = waitExit(this.worker).then(({ code, signal: sig }) => {
      clearTimeout(deadline);
      const outcome = this.cut ?? (code === 0 ? 'ok' : 'failed');
      return { code, signal: sig, output: this.output, outcome };
    });
  }

  /** Stops the run (concurrency `replace`, shutdown): SIGTERM, then SIGKILL after the grace. */
  stop(graceMs: number, why: CronRun['outcome'] = 'replaced'): Promise<unknown> {
    this.cut ??= why;
    return terminate(this.worker, graceMs);
  }

  kill(): void { signal(this.worker, 'SIGKILL'); }
}

/** Re-checks at least this often, so a suspended laptop or a changed clock is noticed. */
const MAX_SLEEP_MS = 60_000;
/** The controller requeues 100 ms after a scheduled time (nextScheduleDelta). */
const NEXT_SCHEDULE_DELTA_MS = 100;

/**
 * A cron unit: each sync decides as the CronJob controller does (syncCron) from the unit's record
 * (first seen, last scheduled time; kept in `.archipelago/crons.json`), then sleeps until the next
 * scheduled time. A sync also follows the end of every run, since `forbid` holds a due time back
 * until the active run is gone rather than dropping it.
 */
export class CronRunner {
  private readonly running = new Set<TaskRun>();
  private readonly spec: CronSpec;
  private record: CronRecord;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private stopping = false;
  private lastNotice: number | undefined;

  constructor(private readonly ctx: TaskRunContext, readonly unit: ResolvedCronUnit, private readonly records: CronRecords) {
    this.spec = { schedule: parseSchedule(unit.schedule), timezone: unit.timezone, startingDeadlineMs: unit.startingDeadlineMs, concurrency: unit.concurrency };
    this.record = records.get(unit.name, Date.now());
    ctx.state.addUnit({
      name: unit.name, kind: 'cron', priority: unit.priority, port: null,
      replicas: { min: 0, max: 1, desired: 0, ready: 0 },
      cron: { schedule: unit.schedule, timezone: unit.timezone, concurrency: unit.concurrency, running: 0, next: this.next(), last: null, runs: [] },
    });
    this.reportMissed();
    this.sync();
  }

  /** Says, once at start, which scheduled time was missed too long ago to start (the controller skips it silently). */
  private reportMissed(): void {
    try {
      const { mostRecent } = mostRecentScheduleTime(this.record, Date.now(), this.spec, false);
      if (mostRecent !== null && mostRecent + this.unit.startingDeadlineMs < Date.now()) {
        this.ctx.logs.warn(`${this.unit.name}: missed the run scheduled for ${new Date(mostRecent).toISOString()}: more than startingDeadline (${this.unit.startingDeadlineMs / 1000}s) ago, not started`, { unit: this.unit.name });
      }
    } catch { /* an unsatisfiable schedule is reported by sync */ }
  }

  private next(): string | null {
    const at = nextWakeAt(this.record, Date.now(), this.spec);
    return at === null ? null : new Date(at).toISOString();
  }

  /** One controller sync: start the due time if the rules allow, then sleep until the next one. */
  private sync(): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    const { unit, ctx } = this;
    const now = Date.now();
    try {
      const d = syncCron(this.record, now, this.spec, this.running.size);
      const at = 'scheduledTime' in d ? new Date(d.scheduledTime).toISOString() : '';
      if (d.action === 'start') {
        if (d.replace) {
          for (const r of this.running) void r.stop(unit.graceMs, 'replaced');
          ctx.logs.info(`${unit.name}: replacing the running run (concurrency: replace)`, { unit: unit.name });
        }
        this.record = this.records.set(unit.name, { ...this.record, lastScheduleTime: d.scheduledTime });
        if (d.missed !== 'none') ctx.logs.info(`${unit.name}: starting the run scheduled for ${at}; earlier missed times are not run (CronJob semantics)`, { unit: unit.name });
        this.start(`schedule ${at}`);
      } else if (d.action !== 'wait' && this.lastNotice !== d.scheduledTime) {
        this.lastNotice = d.scheduledTime;
        if (d.action === 'too-late') {
          ctx.logs.warn(`${unit.name}: missed the run scheduled for ${at}: more than startingDeadline (${unit.startingDeadlineMs / 1000}s) ago, not started`, { unit: unit.name });
        } else {
          ctx.logs.warn(`${unit.name}: the run scheduled for ${at} waits, the previous run is still going (concurrency: forbid)`, { unit: unit.name });
        }
      }
    } catch (e) {
      ctx.logs.warn(`${unit.name}: ${(e as Error).message}`, { unit: unit.name });
    }
    const wake = nextWakeAt(this.record, now, this.spec);
    const delay = wake === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, wake - now + NEXT_SCHEDULE_DELTA_MS));
    this.timer = setTimeout(() => this.sync(), delay);
    this.update();
  }

  /** A run asked for by hand (`cron run`): `forbid` refuses it while a run is going, `replace` stops that run. */
  fire(trigger: 'manual', args: readonly string[] = []): { started: boolean; run?: string; reason?: string } {
    const { unit, ctx } = this;
    if (this.stopping) return { started: false, reason: 'the supervisor is stopping' };
    if (this.running.size > 0 && unit.concurrency === 'forbid') {
      const at = new Date().toISOString();
      ctx.logs.warn(`${unit.name}: ${trigger} run skipped, the previous run is still going (concurrency: forbid)`, { unit: unit.name });
      ctx.state.recordCronRun(unit.name, { startedAt: at, finishedAt: at, exitCode: null, outcome: 'skipped' });
      return { started: false, reason: 'a run is still going (concurrency: forbid)' };
    }
    if (this.running.size > 0 && unit.concurrency === 'replace') {
      for (const r of this.running) void r.stop(unit.graceMs, 'replaced');
      ctx.logs.info(`${unit.name}: replacing the running run (concurrency: replace)`, { unit: unit.name });
    }
    return { started: true, run: this.start(trigger, args) };
  }

  private start(trigger: string, args: readonly string[] = []): string {
    const { unit, ctx } = this;
    const id = `${unit.name}-${++this.seq}`;
    const run = new TaskRun(ctx, unit, id, args);
    const record: CronRun = { startedAt: new Date().toISOString(), finishedAt: null, exitCode: null, outcome: 'running' };
    this.running.add(run);
    ctx.logs.info(`${unit.name}: run ${id} started (${trigger})`, { unit: unit.name });
    this.update();
    void run.done.then((r) => {
      this.running.delete(run);
      Object.assign(record, { finishedAt: new Date().toISOString(), exitCode: r.code, outcome: r.outcome });
      ctx.state.recordCronRun(unit.name, record);
      ctx.logs.info(`${unit.name}: run ${id} finished: ${r.outcome}`, { unit: unit.name, exitCode: r.code });
      this.sync();
    });
    return id;
  }

  private update(): void {
    const c = this.ctx.state.unit(this.unit.name)!;
    if (c.cron) { c.cron.running = this.running.size; c.cron.next = this.next(); }
    this.ctx.state.changed(this.unit.name);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await Promise.all([...this.running].map((r) => r.stop(this.unit.graceMs, 'failed')));
  }

  forceKill(): void { for (const r of this.running) r.kill(); }
}
