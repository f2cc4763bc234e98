// The message systems the broker benchmarks compare: ours (postgres, nats) and the raw libraries
// doing the same at-least-once work (pg-boss, graphile-worker, JetStream), behind one small shape.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Logger, makeWorkerUtils, run as runGraphile, type Runner, type WorkerUtils } from 'graphile-worker';
import { AckPolicy, connect, DeliverPolicy, JSONCodec, RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import { PgBoss } from 'pg-boss';
import pino from 'pino';
import { z } from 'zod';
import { createMessaging, createNatsBroker, createPostgresBroker, type Broker } from '../../../packages/archipelago/src/messaging/index.js';
import { topic } from '../../../packages/archipelago/src/messaging/topic.js';
import { subscribe, type UnitContext } from '../../../packages/archipelago/src/units/define.js';
import { percentile } from '../types.js';

export interface Payload { i: number; t: number }
export interface System {
  readonly name: string;
  /** Starts consuming; `seen` is called once per delivery. */
  start(seen: (p: Payload) => void): Promise<void>;
  publishMany(ps: Payload[]): Promise<void>;
  publishOne(p: Payload): Promise<void>;
  close(): Promise<void>;
}

export const now = () => performance.timeOrigin + performance.now();
const Bench = topic('bench', { schema: z.object({ i: z.number(), t: z.number() }) });

/** Ours through the Messaging facade (schema check, runtime, broker), as a worker unit runs it. */
export function ours(name: string, broker: Broker, concurrency: number): System {
  const messaging = createMessaging(broker, { unit: 'bench', logger: pino({ level: 'silent' }) });
  let stop: (() => Promise<unknown>) | undefined;
  return {
    name,
    async start(seen) {
      await broker.init();
      const handle = await messaging.startSubscriptions([subscribe(Bench, `bench-${randomUUID().slice(0, 8)}`, (d) => { seen(d.message); }, { concurrency, deadline: '30s' })], {} as UnitContext);
      stop = () => handle.stop(5000);
    },
    async publishMany(ps) { await messaging.publishMany(Bench, ps); },
    async publishOne(p) { await messaging.publish(Bench, p); },
    async close() { await stop?.(); await messaging.close(); await broker.close(); },
  };
}

export const oursPostgres = (url: string) => ours('archipelago postgres', createPostgresBroker({ databaseUrl: url }), 500);
export const oursNats = (natsUrl: string, stream: string, dbUrl: string) => ours('archipelago nats', createNatsBroker({ url: natsUrl, stream, databaseUrl: dbUrl }), 500);

/** pg-boss 12 with the options that made it fastest here (batches of 500, LISTEN/NOTIFY on). */
export function rawPgBoss(url: string): System {
  const boss = new PgBoss({ connectionString: url, useListenNotify: true, schedule: false, supervise: true, max: 10 });
  boss.on('error', () => {});
  const queue = `bench_${randomUUID().slice(0, 8)}`;
  return {
    name: 'pg-boss 12',
    async start(seen) {
      await boss.start();
      await boss.createQueue(queue, { notify: true } as never);
      await boss.work<Payload>(queue, { batchSize: 500, localConcurrency: 4, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 } as never, async (jobs: { data: Payload }[]) => {
        for (const j of jobs) seen(j.data);
      });
    },
    async publishMany(ps) { for (let i = 0; i < ps.length; i += 5000) await boss.insert(queue, ps.slice(i, i + 5000).map((data) => ({ data }))); },
    async publishOne(p) { await boss.send(queue, p); },
    async close() { await boss.stop({ graceful: true, wait: true, timeout: 5000 } as never); },
  };
}

const silent = new Logger(() => () => {});

/** graphile-worker 0.18 with a local queue and no batch delays (its fastest setup here). */
export function rawGraphile(url: string): System {
  let runner: Runner | undefined;
  let utils: WorkerUtils | undefined;
  const task = `bench_${randomUUID().slice(0, 8)}`;
  return {
    name: 'graphile-worker 0.18',
    async start(seen) {
      utils = await makeWorkerUtils({ connectionString: url, logger: silent });
      await utils.migrate();
      runner = await runGraphile({
        connectionString: url, concurrency: 24, noHandleSignals: true, pollInterval: 1000,
        taskList: { [task]: async (payload: unknown) => { seen(payload as Payload); } },
        preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
        logger: silent,
      } as never);
    },
    async publishMany(ps) { for (let i = 0; i < ps.length; i += 5000) await utils!.addJobs(ps.slice(i, i + 5000).map((payload) => ({ identifier: task, payload }))); },
    async publishOne(p) { await utils!.addJob(task, p); },
    async close() { await runner?.stop(); await utils?.release(); },
  };
}

/** Raw JetStream: awaited publish acks, one durable pull consumer, explicit ack per message. */
export function rawJetStream(natsUrl: string, stream: string): System {
  let nc: NatsConnection | undefined;
  const jc = JSONCodec<Payload>();
  const subject = `${stream}.raw`;
  let stopConsumer: (() => Promise<void>) | undefined;
  return {
    name: 'nats JetStream (raw)',
    async start(seen) {
      nc = await connect({ servers: natsUrl });
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Interest, storage: StorageType.File });
      await jsm.consumers.add(stream, { durable_name: 'raw', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New, filter_subject: subject, max_ack_pending: 20_000 });
      const c = await nc.jetstream().consumers.get(stream, 'raw');
      const iter = await c.consume({ max_messages: 500 });
      const loop = (async () => { for await (const m of iter) { seen(jc.decode(m.data)); m.ack(); } })();
      stopConsumer = async () => { await iter.close(); await loop; await jsm.streams.delete(stream).catch(() => {}); };
    },
    async publishMany(ps) {
      const js = nc!.jetstream();
      for (let i = 0; i < ps.length; i += 1000) await Promise.all(ps.slice(i, i + 1000).map((p) => js.publish(subject, jc.encode(p), { msgID: randomUUID(), timeout: 30_000 })));
    },
    async publishOne(p) { await nc!.jetstream().publish(subject, jc.encode(p), { msgID: randomUUID() }); },
    async close() { await stopConsumer?.(); await nc?.drain(); },
  };
}

export interface Measured { system: string; throughput: number; p50: number; p99: number }

/** Publish `total` in bulk and time until every one was handled; then `samples` one-at-a-time latencies. */
export async function measure(sys: System, o: { total: number; samples: number }): Promise<Measured> {
  const seen = new Set<number>();
  const arrivals = new Map<number, number>();
  let wake: (() => void) | undefined;
  await sys.start((p) => { seen.add(p.i); if (p.i < 0) arrivals.set(p.i, now()); wake?.(); });
  const waitFor = (pred: () => boolean, what: string, ms = 120_000) => new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${sys.name}: timed out waiting for ${what} (${seen.size} seen)`)), ms);
    const check = () => { if (pred()) { clearTimeout(t); wake = undefined; resolve(); } };
    wake = check;
    check();
  });
  try {
    // Warm-up: connections, prepared plans, first LISTEN.
    await sys.publishOne({ i: -1_000_000, t: now() });
    await waitFor(() => seen.has(-1_000_000), 'warm-up');
    const t0 = now();
    await sys.publishMany(Array.from({ length: o.total }, (_, i) => ({ i, t: t0 })));
    await waitFor(() => { for (let i = o.total - 1; i >= 0; i--) if (!seen.has(i)) return false; return true; }, `${o.total} messages`);
    const throughput = o.total / ((now() - t0) / 1000);
    const lat: number[] = [];
    for (let k = 1; k <= o.samples; k++) {
      const t = now();
      await sys.publishOne({ i: -k, t });
      await waitFor(() => arrivals.has(-k), `latency sample ${k}`, 30_000);
      lat.push(arrivals.get(-k)! - t);
      await new Promise((r) => setTimeout(r, 5));
    }
    lat.sort((a, b) => a - b);
    return { system: sys.name, throughput, p50: percentile(lat, 50), p99: percentile(lat, 99) };
  } finally {
    await sys.close();
  }
}
