// A seeded scheduler of delivery faults over a real broker. Each seed runs a small random schedule
// of publishes (plain, in a committed or rolled-back transaction, publishMany), a new subscription
// provisioned while its worker is at zero, scaling 0 <-> 3 replicas, drains with a short grace,
// handlers that throw, honour their deadline's abort or overrun it; in about a third of the seeds
// some replicas are real processes (fault-pool.ts), which the schedule also SIGKILLs and freezes
// (SIGSTOP, later SIGCONT), and whose overrunning handler makes them exit. Afterwards it checks the
// messaging section's guarantees: every message committed after provisioning was handled at least
// once or is in dead letters after attempts that really failed, rolled-back ones never arrive, no
// replica ever ran more than `concurrency` handlers at once, and a dead replica's messages were
// taken by another replica within a bound (its leases, where the broker shows them: fault-pool.ts).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { createMessaging } from '../../src/messaging/index.js';
import type { Broker } from '../../src/messaging/broker.js';
import { topic } from '../../src/messaging/topic.js';
import type { UnitContext } from '../../src/units/define.js';
import { Job, jobSubscription, type JobMsg, type JobSpec, type RunOutcome } from './fault-jobs.js';
import type { ReplicaPool, ReplicaProcess } from './fault-pool.js';

export interface FaultCounts {
  schedules: number;
  /** Schedules with replica processes (kills, freezes and exiting overruns happen only there). */
  processSchedules: number;
  messages: number;
  kills: number;
  /** SIGSTOPs, each followed by a SIGCONT. */
  stops: number;
  /** Replica processes that exited because a handler overran its deadline. */
  overruns: number;
  /** Handlers stopped at their deadline by its abort. */
  deadlines: number;
  throws: number;
  drains: number;
  scaleEvents: number;
  /** Replicas started in place of a dead one, as the supervisor does. */
  restarts: number;
  releasedLeases: number;
  /** Messages of dead replicas whose wait was measured, and the longest any waited while a replica had a free slot (ms). */
  pickups: number;
  maxPickupMs: number;
  /** The longest a dead replica still held leases on the broker after its exit (ms; postgres). */
  maxDeadLeaseMs: number;
  violations: string[];
}

export function newCounts(): FaultCounts {
  return {
    schedules: 0, processSchedules: 0, messages: 0, kills: 0, stops: 0, overruns: 0, deadlines: 0, throws: 0, drains: 0,
    scaleEvents: 0, restarts: 0, releasedLeases: 0, pickups: 0, maxPickupMs: 0, maxDeadLeaseMs: 0, violations: [],
  };
}

export function formatCounts(c: FaultCounts): string {
  return JSON.stringify({ ...c, violations: c.violations.length });
}

export interface FaultOptions {
  newBroker(): Promise<Broker>;
  pool: pg.Pool;
  counts: FaultCounts;
  /** Replica processes to lend to some schedules; without it every replica runs in this process. */
  replicas?: ReplicaPool;
  /**
   * How long, given the deadline, a dead replica's message may wait while another replica has a
   * free slot: the time its lease keeps it from them.
   */
  pickupBoundMs(deadlineMs: number): number;
}

/** mulberry32: a small, fast, seedable generator, so a failing seed replays exactly (as far as timing allows). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_ATTEMPTS = 3;
const MAX_REPLICAS = 3;
const SAMPLE_MS = 50;
/** Share of seeds whose replicas may be processes: each process start costs about a second. */
const PROCESS_SHARE = 0.3;
/**
 * Deadlines: 300 ms in-process. With processes 2 s, so that the lease (deadline + 1 s) outlasts the
 * dead-lease bound and a missing release is seen, while a nats ack wait (the lease, at most 5 s)
 * stays a few seconds.
 */
const DEADLINE_MS = { inProcess: 300, processes: 2000 };

interface Run { readonly replica: Replica; readonly attempt: number; readonly at: number; outcome: 'running' | RunOutcome | 'died' }

interface Replica {
  readonly name: string;
  readonly proc?: ReplicaProcess;
  state: 'live' | 'drained' | 'dead';
  /** Its consumer runs (subscribed, for a process). */
  ready: boolean;
  /** Most runs at once the replica's handler counted, and its consumer's own count. */
  max: number;
  consumerMax: number;
  readonly open: Run[];
  stop(graceMs: number): Promise<void>;
}

export async function runFaultSchedule(seed: number, o: FaultOptions): Promise<void> {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
  const { counts } = o;
  const processes = o.replicas !== undefined && rand() < PROCESS_SHARE;
  const id = `${seed}_${randomUUID().slice(0, 6)}`;
  const t = topic(`faults.${id}`, { schema: Job });
  const deadlineMs = processes ? DEADLINE_MS.processes : DEADLINE_MS.inProcess;
  const spec: JobSpec = { topic: t.name, sub: `faults-${id}`, concurrency: 1 + Math.floor(rand() * 3), deadlineMs, maxAttempts: MAX_ATTEMPTS };
  const label = `seed ${seed}${processes ? ' (processes)' : ''}`;
  const v = (s: string) => counts.violations.push(`${label}: ${s}`);

  const runs = new Map<string, Run[]>();
  const handled = new Set<string>();
  const committed = new Map<string, JobMsg>();
  const rolledBack = new Set<string>();
  const all: Replica[] = [];
  const brokers: Broker[] = [];
  const pending: Promise<unknown>[] = [];
  /** Runs a dead replica had open, to see when another replica took their messages. */
  const orphans: { k: string; run: Run; diedAt: number }[] = [];
  const freezes: { r: Replica; from: number; to: number }[] = [];
  /** When replica processes of this schedule died. */
  const deaths: number[] = [];
  /** Replicas running the subscription; one the schedule has just SIGKILLed is no longer one of them. */
  const live = () => all.filter((r) => r.state === 'live' && !r.proc?.killed);
  // When some running replica had a free slot: a message waiting then was kept from it by a lease
  // (or its pull, on nats), not by the work ahead of it.
  const spare: number[] = [];
  const sampler = setInterval(() => {
    if (live().some((r) => r.ready && !r.proc?.frozen && r.open.length < spec.concurrency)) spare.push(Date.now());
  }, SAMPLE_MS);
  sampler.unref();

  const started = (r: Replica, k: string, attempt: number, running: number) => {
    r.max = Math.max(r.max, running);
    const run: Run = { replica: r, attempt, at: Date.now(), outcome: 'running' };
    (runs.get(k) ?? runs.set(k, []).get(k)!).push(run);
    r.open.push(run);
  };
  const ended = (r: Replica, k: string, attempt: number, outcome: RunOutcome) => {
    const i = r.open.findIndex((x) => x.attempt === attempt && runs.get(k)?.includes(x));
    const [run] = i >= 0 ? r.open.splice(i, 1) : [];
    if (run) run.outcome = outcome;
    if (outcome === 'ok') handled.add(k);
  };

  const publisher = await o.newBroker();
  brokers.push(publisher);
  const pub = createMessaging(publisher, { unit: 'publisher', logger });

  const inProcess = async () => {
    const b = await o.newBroker();
    brokers.push(b);
    const messaging = createMessaging(b, { unit: 'faults', logger });
    const r: Replica = {
      name: `in-process-${all.length + 1}`, state: 'live', ready: false, max: 0, consumerMax: 0, open: [],
      async stop(graceMs) { await handle.stop(graceMs); r.consumerMax = handle.maxInFlight; await messaging.close(); },
    };
    const handle = await messaging.startSubscriptions([jobSubscription(spec, false, {
      start: (k, attempt, running) => started(r, k, attempt, running),
      end: (k, attempt, outcome) => ended(r, k, attempt, outcome),
    })], {} as UnitContext);
    r.ready = true;
    all.push(r);
  };
  const asProcess = async (pool: ReplicaPool, p: ReplicaProcess) => {
    const r: Replica = {
      name: p.name, proc: p, state: 'live', ready: false, max: 0, consumerMax: 0, open: [],
      async stop(graceMs) {
        const line = await pool.request(p, { op: 'stop', sub: spec.sub, graceMs }, (l) => l.startsWith(`stopped ${spec.sub} `)).catch(() => undefined);
        if (line) r.consumerMax = Math.max(r.consumerMax, Number(line.split(' ')[3]));
      },
    };
    all.push(r);
    const reply = await pool.request(p, { op: 'sub', ...spec }, (l) => l === `subscribed ${spec.sub}` || l.startsWith(`error ${spec.sub} `))
      .catch(() => undefined); // it died while subscribing: its exit is handled as any other
    if (reply?.startsWith('error')) v(`${p.name} could not subscribe: ${reply}`);
    else if (reply) r.ready = true;
  };
  const scaleUp = async (preferProcess: boolean) => {
    const p = preferProcess && processes ? o.replicas!.take() : undefined;
    if (p) await asProcess(o.replicas!, p); else await inProcess();
  };

  if (o.replicas) {
    o.replicas.label = label;
    o.replicas.watcher = {
      line(p, line) {
        const r = all.find((x) => x.proc === p);
        const [kind, sub, k, attempt, n] = line.split(' ');
        if (!r || sub !== spec.sub || !k) return;
        if (kind === 'got') started(r, k, Number(attempt), Number(n));
        if (kind === 'done') ended(r, k, Number(attempt), n as RunOutcome);
      },
      died(p, at) {
        const r = all.find((x) => x.proc === p);
        if (!r) return;
        const was = r.state;
        r.state = 'dead';
        deaths.push(at);
        for (const run of r.open.splice(0)) {
          run.outcome = 'died';
          // A drained replica gave its messages back when its grace ran out (the drain's own guarantee).
          if (was === 'live') orphans.push({ k: [...runs].find(([, rs]) => rs.includes(run))![0], run, diedAt: at });
        }
        // The supervisor restarts a replica that died; a drained one was not running this subscription.
        if (was === 'live') { counts.restarts++; pending.push(scaleUp(rand() < 0.5).catch((e: unknown) => v(`restarting a replica failed: ${(e as Error).message}`))); }
      },
    };
  }

  const mode = (): JobMsg['mode'] => {
    const x = rand();
    if (x < 0.1) { counts.throws++; return 'always-throw'; }
    if (x < 0.25) { counts.throws++; return 'throw-once'; }
    if (x < 0.35) { counts.deadlines++; return 'slow-honour'; }
    if (processes && x < 0.47) return 'overrun';
    return 'ok';
  };
  const msg = (): JobMsg => ({ k: randomUUID(), mode: mode(), ms: rand() < 0.2 ? Math.floor(deadlineMs * (0.1 + rand() * 0.3)) : Math.floor(rand() * 20) });

  // The subscription is new and its worker at zero: provisioning alone must keep what follows.
  await publisher.ensureSubscription({ name: spec.sub, topic: t.name, unit: 'faults', concurrency: spec.concurrency, maxAttempts: MAX_ATTEMPTS, backoff: { initialMs: 10, maxMs: 50, factor: 2 }, deadlineMs });
  // A kill or freeze that finds no replica process starts one instead, for a later fault to hit.
  const targetLater = async () => { if (live().length < MAX_REPLICAS) { await scaleUp(true); counts.scaleEvents++; } };
  const ops = ['plain', 'tx-commit', 'tx-rollback', 'many', 'up', 'up', 'down', 'pause', ...(processes ? ['kill', 'kill', 'freeze', 'freeze', 'up', 'pause'] as const : [])] as const;
  const steps = (processes ? 9 : 6) + Math.floor(rand() * 6);
  for (let i = 0; i < steps; i++) {
    const op = pick(ops)!;
    if (op === 'plain') { const m = msg(); await pub.publish(t, m); committed.set(m.k, m); }
    if (op === 'many') { const ms = Array.from({ length: 1 + Math.floor(rand() * 5) }, msg); await pub.publishMany(t, ms); for (const m of ms) committed.set(m.k, m); }
    if (op === 'tx-commit' || op === 'tx-rollback') {
      const c = await o.pool.connect();
      const m = msg();
      try {
        await c.query('BEGIN');
        await pub.publish(t, m, { tx: c });
        await c.query(op === 'tx-commit' ? 'COMMIT' : 'ROLLBACK');
      } finally { c.release(); }
      if (op === 'tx-commit') committed.set(m.k, m); else rolledBack.add(m.k);
    }
    if (op === 'up' && live().length < MAX_REPLICAS) { await scaleUp(rand() < 0.65); counts.scaleEvents++; }
    if (op === 'down') {
      const r = pick(live().filter((x) => !x.proc?.frozen));
      if (r) { r.state = 'drained'; await r.stop(Math.floor(rand() * 200)); counts.drains++; }
    }
    if (op === 'pause') await sleep(Math.floor(rand() * deadlineMs / 2));
    // Kill preferably a replica that is running handlers: that is where a lost lease would show.
    if (op === 'kill') {
      const procs = live().filter((x) => x.proc);
      const r = pick(procs.some((x) => x.open.length) ? procs.filter((x) => x.open.length) : procs);
      if (r) { o.replicas!.kill(r.proc!); counts.kills++; } else await targetLater();
    }
    // Frozen long enough, sometimes, for its leases (deadline + 1 s) to run out: a duplicate, never a loss.
    if (op === 'freeze') {
      const r = pick(live().filter((x) => x.proc && !x.proc.frozen));
      if (r) {
        o.replicas!.freeze(r.proc!);
        counts.stops++;
        const f = { r, from: Date.now(), to: Infinity };
        freezes.push(f);
        pending.push(sleep(300 + Math.floor(rand() * 3500)).then(() => { o.replicas!.thaw(r.proc!); f.to = Date.now(); }));
      } else await targetLater();
    }
  }
  counts.messages += committed.size + rolledBack.size;
  // Every frozen replica is resumed, and every restart has happened, before the end is awaited.
  while (pending.length) await Promise.all(pending.splice(0));
  if (live().length === 0) await scaleUp(true);

  const deadLetters = async () => new Map((await publisher.deadLetters.list(spec.sub, { limit: 1000 })).map((d) => [(d.payload as JobMsg).k, d.attempts]));
  const end = Date.now() + 90_000;
  let dead = new Map<string, number>();
  let backlog = 0;
  // Settled means every message handled or dead and nothing left waiting or taken on the broker
  // (postgres: queue rows; nats: the consumer's pending and ack-pending counts): a handled message
  // whose ack died with its replica is delivered again first.
  for (;;) {
    await o.replicas?.settled();
    while (pending.length) await Promise.all(pending.splice(0));
    dead = await deadLetters();
    backlog = (await publisher.stats(spec.sub)).backlog;
    if (backlog === 0 && [...committed.keys()].every((k) => handled.has(k) || dead.has(k))) break;
    if (Date.now() > end) break;
    await sleep(50);
  }
  if (backlog > 0) v(`${backlog} messages were still waiting or taken on the broker when the schedule gave up waiting`);
  clearInterval(sampler);
  const last = all.filter((r) => r.state === 'live');
  for (const r of last) r.state = 'drained';
  await Promise.all(last.map((r) => r.stop(1000)));
  await Promise.all(all.filter((r) => r.proc?.killed).map((r) => r.proc!.child.exited));
  await o.replicas?.settled();
  while (pending.length) await Promise.all(pending.splice(0));

  for (const [k, m] of committed) {
    if (handled.has(k)) continue;
    const attempts = dead.get(k);
    const mine = runs.get(k) ?? [];
    if (attempts === undefined) { v(`message ${k} (${m.mode}) was neither handled nor dead-lettered; runs ${JSON.stringify(mine.map((x) => [x.replica.name, x.attempt, x.outcome]))}`); continue; }
    // Each attempt up to the one that dead-lettered it must have failed: thrown, aborted at its
    // deadline, or its replica died. An attempt no handler started is a delivery to a replica that
    // died before starting it (the broker counts deliveries), so a process must have died between
    // the attempts around it. A drain's give-back is no attempt: its run is `cut`, not failed,
    // unless its replica was frozen while it ran (frozen past its lease or ack wait, the message
    // went to another replica as the next attempt before the cut could be recorded as a release)
    // or died later (an overrun's exit before the release was recorded).
    const uncounted = (x: Run) => x.replica.state === 'dead' || freezes.some((f) => f.r === x.replica && f.to > x.at);
    const failed = new Set(mine.filter((x) => x.outcome === 'fail' || x.outcome === 'died' || (x.outcome === 'cut' && uncounted(x))).map((x) => x.attempt));
    const lost = (a: number) => !mine.some((x) => x.attempt === a) && deaths.some((at) =>
      at >= Math.max(0, ...mine.filter((x) => x.attempt < a).map((x) => x.at)) && at <= Math.min(Infinity, ...mine.filter((x) => x.attempt > a).map((x) => x.at)));
    const missing = Array.from({ length: attempts }, (_, i) => i + 1).filter((a) => !failed.has(a) && !lost(a));
    if (attempts < MAX_ATTEMPTS || missing.length) v(`message ${k} (${m.mode}) reached dead letters after ${attempts} attempts; runs ${JSON.stringify(mine.map((x) => [x.replica.name, x.attempt, x.outcome]))}`);
  }
  for (const k of rolledBack) if (runs.has(k)) v(`rolled-back message ${k} was delivered`);
  for (const r of all) {
    const most = Math.max(r.max, r.consumerMax);
    if (most > spec.concurrency) v(`${r.name} ran ${most} handlers at once (concurrency ${spec.concurrency})`);
  }
  const bound = o.pickupBoundMs(deadlineMs);
  for (const { k, run, diedAt } of orphans) {
    const rs = runs.get(k)!;
    // Taken over while its replica was frozen, before it died: nothing was waiting on the dead one.
    if (rs.some((x) => x.replica !== run.replica && x.at > run.at && x.at <= diedAt)) continue;
    const next = rs.filter((x) => x.at > diedAt).sort((a, b) => a.at - b.at)[0];
    if (!next) continue; // never run again: reported above unless it was handled before the death
    // A replica frozen meanwhile may have been handed the message (a nats pull it had open, a claim
    // in flight as it froze) and holds it until its own lease lapses: a live holder's lease, not a
    // dead one's, so the wait is not this check's to measure.
    if (freezes.some((f) => f.r !== run.replica && f.from < next.at && f.to > diedAt)) continue;
    const waited = spare.filter((at) => at > diedAt && at < next.at).length * SAMPLE_MS;
    counts.pickups++;
    counts.maxPickupMs = Math.max(counts.maxPickupMs, waited);
    if (waited > bound) v(`message ${k} of ${run.replica.name}, which died, waited ${waited} ms while another replica had a free slot (started after ${next.at - diedAt} ms; bound ${bound} ms)`);
  }

  if (o.replicas) {
    o.replicas.watcher = undefined;
    for (const r of all) if (r.proc && o.replicas.alive(r.proc)) o.replicas.give(r.proc);
  }
  await pub.close();
  for (const b of brokers) await b.close();
  counts.schedules++;
  if (processes) counts.processSchedules++;
}
