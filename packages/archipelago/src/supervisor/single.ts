// `archipelago up --single-process`: every long-running unit in this one process (tiny setups, the
// isolation benchmark). Deploy jobs and cron ticks still get a process each, as they do normally.
import { ArchipelagoError } from '../errors.js';
import { forEnvironment, LOCAL_ENVIRONMENT } from '../service/environments.js';
import type { ResolvedService } from '../service/types.js';
import { runInProcess } from '../units/run.js';
import { startControlServer } from './control.js';
import { openDatabase } from './database.js';
import { checkSecrets } from './env.js';
import { LogMux } from './logs.js';
import { tuningFromEnv } from './probes.js';
import { SupervisorState } from './state.js';
import { CronRecords } from './cron-records.js';
import { CronRunner, TaskRun } from './tasks.js';
import { kindOf, listens } from '../service/kinds.js';

export async function runSingleProcess(declared: ResolvedService, opts: { only?: readonly string[]; json: boolean }): Promise<number> {
  const service = forEnvironment(declared, LOCAL_ENVIRONMENT).service;
  for (const n of opts.only ?? []) if (!service.units.some((u) => u.name === n)) throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `--only names unit "${n}", which service "${service.name}" does not declare`);
  const units = service.units.filter((u) => !opts.only || opts.only.includes(u.name));
  const state = new SupervisorState(service.name, service.root);
  state.mode = 'single-process';
  const logs = new LogMux(state, { json: opts.json });
  const tuning = tuningFromEnv();
  const crons: CronRunner[] = [];
  const control = await startControlServer(service.root, {
    status: () => state.snapshot(),
    logs: (limit) => state.logs.slice(-limit),
    scale: () => { throw new ArchipelagoError('ARCH_E_USAGE', 'a single-process supervisor cannot scale units; run `archipelago up` without --single-process'); },
    cronRun: (name, args) => {
      const c = crons.find((x) => x.unit.name === name);
      if (!c) throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `no cron unit "${name}" runs here`);
      return c.fire('manual', args);
    },
    jobRun: () => { throw new ArchipelagoError('ARCH_E_USAGE', 'run jobs with `archipelago job run` while a single-process supervisor runs'); },
  });
  let db: Awaited<ReturnType<typeof openDatabase>> | undefined;
  const cleanup = async () => {
    for (const c of crons) await c.stop();
    await control.close();
    await db?.stop();
  };
  try {
    checkSecrets(service, units);
    db = await openDatabase(service, (m) => logs.info(m));
    state.database = { url: db.url.replace(/:[^:@/]*@/, ':***@'), embedded: db.embedded };
    const ctx = { service, state, logs, tuning, databaseUrl: db.url };
    for (const unit of units) {
      if (unit.kind !== 'job' || unit.runOn !== 'deploy') continue;
      logs.info(`running deploy job ${unit.name}`, { unit: unit.name });
      const r = await new TaskRun(ctx, unit, `${unit.name}-1`).done;
      if (r.code !== 0) throw new ArchipelagoError('ARCH_E_DEPLOY_JOB_FAILED', `deploy job "${unit.name}" failed (exit code ${r.code}); nothing was started. Its output:\n${r.output.trimEnd()}`);
    }
    const names = units.filter((u) => kindOf(u).sharesProcess).map((u) => u.name);
    let exited!: (code: number) => void;
    const done = new Promise<number>((resolve) => { exited = resolve; });
    if (names.length > 0) {
      // The in-process replica owns SIGINT/SIGTERM here: it drains every unit, then reports its exit code.
      await runInProcess(service, names, { databaseUrl: db.url, replica: `${service.name}-0`, exit: (code) => exited(code) });
    } else {
      const stop = () => exited(0);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
    for (const name of names) {
      const u = units.find((x) => x.name === name)!;
      const s = state.addUnit({ name, kind: u.kind, priority: u.priority, port: 'port' in u ? u.port : null, replicas: { min: 1, max: 1, desired: 1, ready: 0 }, cron: null });
      s.replicaList.push({ id: `${service.name}-0`, slot: 0, pid: process.pid, state: 'ready', startedAt: new Date().toISOString(), adminPort: null, port: s.port,
        inFlight: 0, connections: 0, handled: 0, eventLoopLagMs: 0, cpu: null, memoryBytes: null, restarts: 0, backoffMs: null, nextStartAt: null, lastExit: null });
      state.changed(name);
    }
    const cronRecords = new CronRecords(service.root);
    for (const unit of units) if (unit.kind === 'cron') crons.push(new CronRunner(ctx, unit, cronRecords));
    for (const unit of units) {
      if ('port' in unit && listens(unit)) logs.info(`${unit.name} (${unit.kind}) on http://localhost:${unit.port}`, { unit: unit.name, url: `http://localhost:${unit.port}` });
    }
    logs.info(`single process: ${names.join(', ') || 'no long-running units'} in pid ${process.pid}`);
    const code = await done;
    await cleanup();
    return code;
  } catch (e) {
    await cleanup();
    throw e;
  }
}
