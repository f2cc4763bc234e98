// The fault schedules' message and handler, shared by in-process replicas and replica processes
// (fixtures/fault-replica.ts), so that both fail alike on purpose and report every run alike.
import { z } from 'zod';
import { topic } from '../../src/messaging/topic.js';
import { subscribe, type SubscriptionDefinition } from '../../src/units/define.js';

/**
 * `mode` says how the handler fails on the first attempt: `throw-once` throws, `always-throw`
 * throws every time, `slow-honour` waits for its deadline's abort, `overrun` ignores that abort so
 * that its replica process must exit (an in-process replica cannot exit, so it honours the abort).
 * `ms` is how long a successful run takes.
 */
export const Job = z.object({ k: z.string(), mode: z.enum(['ok', 'throw-once', 'always-throw', 'slow-honour', 'overrun']), ms: z.number().int().min(0) });
export type JobMsg = z.infer<typeof Job>;

export interface JobSpec {
  readonly topic: string;
  readonly sub: string;
  readonly concurrency: number;
  readonly deadlineMs: number;
  readonly maxAttempts: number;
}

/**
 * How a run ended: `ok` returned before any abort (the broker records a success); `fail` threw or
 * was aborted at its deadline (an attempt that failed); `cut` was aborted when a drain's grace ran
 * out (the message was given back, which is no attempt).
 */
export type RunOutcome = 'ok' | 'fail' | 'cut';

/** What a replica reports of each run: its start, with how many runs of the subscription it then had at once, and its end. */
export interface JobEvents {
  start(k: string, attempt: number, running: number): void;
  end(k: string, attempt: number, outcome: RunOutcome): void;
}

const aborted = (signal: AbortSignal) => new Promise<never>((_, reject) => {
  const fail = () => reject(new Error('aborted at the deadline'));
  if (signal.aborted) fail(); else signal.addEventListener('abort', fail, { once: true });
});

export function jobSubscription(spec: JobSpec, canExit: boolean, ev: JobEvents): SubscriptionDefinition<JobMsg> {
  let running = 0;
  return subscribe(topic(spec.topic, { schema: Job }), spec.sub, async (d) => {
    const { k, mode, ms } = d.message;
    running++;
    ev.start(k, d.attempt, running);
    let outcome: RunOutcome = 'fail';
    try {
      if (mode === 'always-throw' || (mode === 'throw-once' && d.attempt === 1)) throw new Error(`planned failure of ${k}`);
      if (mode === 'overrun' && d.attempt === 1 && canExit) await new Promise(() => {});
      if ((mode === 'slow-honour' || mode === 'overrun') && d.attempt === 1) await aborted(d.signal);
      await new Promise((r) => setTimeout(r, ms));
      // A run that returns after its deadline (a frozen replica, resumed) or after a drain's abort
      // is not a success: the broker retries it, or it was given back.
      if (!d.signal.aborted) outcome = 'ok';
    } finally {
      running--;
      const deadline = (d.signal.reason as { code?: string } | undefined)?.code === 'ARCH_E_DEADLINE';
      ev.end(k, d.attempt, outcome === 'ok' ? 'ok' : d.signal.aborted && !deadline ? 'cut' : 'fail');
    }
  }, { concurrency: spec.concurrency, deadline: `${spec.deadlineMs}ms`, maxAttempts: spec.maxAttempts, backoff: { initial: '10ms', max: '50ms' } });
}
