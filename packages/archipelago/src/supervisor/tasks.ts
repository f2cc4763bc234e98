// Runs crons and jobs: each run a fresh `archipelago run <unit>` process. Crons fire on their
// schedule (croner, in the unit's time zone) and honour `concurrency` and `deadline`.
import type { Worker } from 'node:cluster';
import { Cron } from 'croner';
import type { ResolvedCronUnit, ResolvedJobUnit, ResolvedService } from '../service/types.js';
import type { LogMux } from './logs.js';
import type { Tuning } from './probes.js';
import { forkUnit, signal, terminate, waitExit } from './spawn.js';
import type { CronRun, SupervisorState } from './state.js';

export interface TaskContext {
  service: ResolvedService;
  state: SupervisorState;
  logs: LogMux;
  tuning: Tuning;
  databaseUrl: string;
}

export interface TaskResult { code: number | null; signal: string | null; output: string; outcome: CronRun['outcome'] }

/** One run of a cron or job unit, its output kept (the tail) for error reports. */
export class TaskRun {
  readonly worker: Worker;
  readonly done: Promise<TaskResult>;
  private output = '';
  private cut: CronRun['outcome'] | undefined;

  constructor(ctx: TaskContext, unit: ResolvedCronUnit | ResolvedJobUnit, runId: string, args: readonly string[] = []) {
    this.worker = forkUnit({ service: ctx.service, unit, replica: runId, databaseUrl: ctx.databaseUrl, args, exec: ctx.tuning.exec });
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

/** A cron unit: its schedule and its runs. */
export class CronRunner {
  private readonly running = new Set<TaskRun>();
  private readonly job: Cron;
  private seq = 0;
  private stopping = false;

  constructor(private readonly ctx: TaskContext, readonly unit: ResolvedCronUnit) {
    this.job = new Cron(unit.schedule, { timezone: unit.timezone, paused: false, protect: false }, () => { this.fire('schedule'); });
    ctx.state.addUnit({
      name: unit.name, kind: 'cron', priority: unit.priority, port: null,
      replicas: { min: 0, max: 1, desired: 0, ready: 0 },
      cron: { schedule: unit.schedule, timezone: unit.timezone, concurrency: unit.concurrency, running: 0, next: this.next(), last: null, runs: [] },
    });
  }

  private next(): string | null {
    return this.job?.nextRun()?.toISOString() ?? null;
  }

  /** Fires one run now (schedule or `cron run`); returns false when `forbid` skips it. */
  fire(trigger: 'schedule' | 'manual'): { started: boolean; run?: string; reason?: string } {
    const { unit, ctx } = this;
    const status = ctx.state.unit(unit.name)!;
    if (this.stopping) return { started: false, reason: 'the supervisor is stopping' };
    if (status.cron) status.cron.next = this.next();
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
    const id = `${unit.name}-${++this.seq}`;
    const run = new TaskRun(ctx, unit, id);
    const record: CronRun = { startedAt: new Date().toISOString(), finishedAt: null, exitCode: null, outcome: 'running' };
    this.running.add(run);
    ctx.logs.info(`${unit.name}: run ${id} started (${trigger})`, { unit: unit.name });
    this.update();
    void run.done.then((r) => {
      this.running.delete(run);
      Object.assign(record, { finishedAt: new Date().toISOString(), exitCode: r.code, outcome: r.outcome });
      ctx.state.recordCronRun(unit.name, record);
      ctx.logs.info(`${unit.name}: run ${id} finished: ${r.outcome}`, { unit: unit.name, exitCode: r.code });
      this.update();
    });
    return { started: true, run: id };
  }

  private update(): void {
    const c = this.ctx.state.unit(this.unit.name)!;
    if (c.cron) { c.cron.running = this.running.size; c.cron.next = this.next(); }
    this.ctx.state.changed(this.unit.name);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.job.stop();
    await Promise.all([...this.running].map((r) => r.stop(this.unit.graceMs, 'failed')));
  }

  forceKill(): void { for (const r of this.running) r.kill(); }
}
