// The task host (cron and job units): runs the body once with its arguments; the process exit code
// says how it went. A deadline aborts the context's signal and fails the run.
import { ArchipelagoError } from '../errors.js';
import { inSpan } from '../tracing/spans.js';
import type { ResolvedCronUnit, ResolvedJobUnit } from '../service/types.js';
import type { OwnedContext } from './context.js';
import type { TaskContext, TaskDefinition } from './define.js';
import { idleBy } from './http.js';
import type { Host } from './replica.js';

export async function startTaskHost(unit: ResolvedCronUnit | ResolvedJobUnit, def: TaskDefinition, ctx: OwnedContext, args: readonly string[]): Promise<Host> {
  const taskCtx: TaskContext = Object.assign(Object.create(ctx) as OwnedContext, { args: Object.freeze([...args]) });
  let failed = false;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const started = Date.now();
  ctx.logger.info({ args }, `${unit.kind} started`);

  const run = inSpan(`${unit.kind} ${unit.name}`, { attributes: { 'archipelago.kind': unit.kind, 'archipelago.args': args.join(' ') } }, () => def.run(taskCtx)).then(
    () => {
      ctx.logger.info({ ms: Date.now() - started }, `${unit.kind} succeeded`);
      return 0;
    },
    (err: unknown) => {
      failed = true;
      ctx.logger.error({ err, ms: Date.now() - started }, `${unit.kind} failed: ${(err as Error)?.message ?? String(err)}`);
      return 1;
    },
  ).finally(() => { settled = true; clearTimeout(timer); });

  const deadline = new Promise<number>((resolve) => {
    if (unit.deadlineMs === undefined) return;
    timer = setTimeout(() => {
      failed = true;
      const err = new ArchipelagoError('ARCH_E_DEADLINE', `${unit.kind} "${unit.name}" ran past its deadline of ${unit.deadlineMs} ms`);
      ctx.logger.error({ code: err.code }, err.message);
      ctx.abort(err);
      resolve(1);
    }, unit.deadlineMs);
    timer.unref();
  });

  return {
    unit: unit.name,
    ready: () => true,
    load: () => ({ inFlight: settled ? 0 : 1, connections: 0, handled: settled ? 1 : 0 }),
    finished: Promise.race([run, deadline]),
    failed: () => failed,
    async drain(by) {
      if (await idleBy(run.then(() => {}), by)) return [];
      return [`the running ${unit.kind}`];
    },
    close: async () => clearTimeout(timer),
  };
}
