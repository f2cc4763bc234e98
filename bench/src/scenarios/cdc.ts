// CDC latency and throughput: a row's commit → the handler of a worker subscription, through the
// relay and the postgres broker, beside two baselines measured on the same inserts in the same run:
// a trigger's LISTEN/NOTIFY delivery, and a bare pg-logical-replication reader on its own slot.
// Latency runs from the commit time PostgreSQL records (same machine, same clock) to arrival.
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { changeTopic, startRelay } from '../../../packages/archipelago/src/cdc/index.js';
import { startEmbedded } from '../../../packages/archipelago/src/database/index.js';
import { createMessaging, createPostgresBroker, type Broker, type OutgoingMessage } from '../../../packages/archipelago/src/messaging/index.js';
import { resolveService } from '../../../packages/archipelago/src/service/index.js';
import type { ResolvedCdcUnit } from '../../../packages/archipelago/src/service/types.js';
import { subscribe, type UnitContext } from '../../../packages/archipelago/src/units/define.js';
import { lower, higher, percentile, type Figure, type Scenario, type Size } from '../types.js';

const PLAN = {
  small: { events: 40, ratePerSec: 50, burst: 1000 },
  full: { events: 1000, ratePerSec: 100, burst: 20_000 },
} as const;

/** Wall-clock milliseconds with sub-millisecond precision, comparable with the server's clock here. */
const now = () => performance.timeOrigin + performance.now();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Arrival times per row id on one delivery path. */
class Arrivals {
  readonly at = new Map<number, number>();
  deliveries = 0;
  waiters: (() => void)[] = [];
  mark(id: number) {
    this.deliveries++;
    if (!this.at.has(id)) this.at.set(id, now());
    for (const w of this.waiters.splice(0)) w();
  }
  async until(n: number, timeoutMs: number, what: string) {
    const end = Date.now() + timeoutMs;
    while (this.at.size < n) {
      if (Date.now() > end) throw new Error(`${what}: ${this.at.size} of ${n} rows arrived in ${timeoutMs} ms`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }
}

/** Arrival minus the transaction's commit time, as logical decoding reports it, for every path. */
function latencies(committed: Map<number, number>, arrivals: Arrivals, ids: number[]): number[] {
  return ids.map((id) => arrivals.at.get(id)! - committed.get(id)!).sort((a, b) => a - b);
}

async function run(size: Size): Promise<Figure[]> {
  const plan = PLAN[size];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'archipelago-bench-cdc-'));
  chmodSync(dir, 0o755);
  const db = await startEmbedded({ dataDir: path.join(dir, 'data') });
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const url = await db.ensureDatabase('bench_cdc');
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    pool.on('error', () => {});
    cleanups.push(() => pool.end());
    await pool.query(`CREATE TABLE events (id int PRIMARY KEY, body text NOT NULL);
      CREATE FUNCTION notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('events', NEW.id::text); RETURN NEW; END $$;
      CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION notify_event();
      CREATE PUBLICATION bench_raw FOR TABLE events;`);
    await pool.query("SELECT pg_create_logical_replication_slot('bench_raw', 'pgoutput')");

    const committed = new Map<number, number>();
    const ours = new Arrivals();
    const notify = new Arrivals();
    const raw = new Arrivals();

    // Baseline 1: LISTEN/NOTIFY from a trigger.
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    cleanups.push(() => listener.end());
    listener.on('notification', (n) => notify.mark(Number(n.payload)));
    await listener.query('LISTEN events');

    // Baseline 2: a bare logical replication reader (no broker, no confirmation discipline).
    const reader = new LogicalReplicationService({ connectionString: url }, { acknowledge: { auto: true, timeoutSeconds: 10 } });
    reader.on('error', () => {});
    let commitMs = 0;
    reader.on('data', (_lsn: string, m: Pgoutput.Message) => {
      if (m.tag === 'begin') commitMs = Number(m.commitTime as bigint) / 1000;
      if (m.tag === 'insert') {
        const id = Number(m.new.id);
        raw.mark(id);
        committed.set(id, commitMs);
      }
    });
    void reader.subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: ['bench_raw'] }), 'bench_raw').catch(() => {});
    cleanups.push(() => reader.destroy());

    // Ours: the relay → postgres broker → a worker subscription.
    const logger = pino({ level: process.env.BENCH_LOG ?? 'warn' });
    const service = resolveService({ name: 'bench', units: [{ name: 'changes', kind: 'cdc', tables: ['events'] }] });
    const unit = service.units[0] as ResolvedCdcUnit;
    const broker = createPostgresBroker({ databaseUrl: url });
    await broker.init();
    cleanups.push(() => broker.close());
    const topic = changeTopic<{ id: number; body: string }>('changes', 'events');
    const messaging = createMessaging(broker, { unit: 'worker', logger });
    const ctx = { service, unit, replica: 'worker-1', db: pool, logger, metrics: new Registry(), signal: new AbortController().signal, config: {} } as unknown as UnitContext;
    const consumer = await messaging.startSubscriptions([
      subscribe(topic, 'bench-events', (d) => { ours.mark(d.message.after!.id); }, { concurrency: 16 }),
    ], ctx);
    cleanups.push(() => consumer.stop(0));
    // Seen from the relay: when the broker accepted each change (before any consumer ran).
    const accepted = new Arrivals();
    const observed: Broker = Object.assign(Object.create(broker) as Broker, {
      async publish(topicName: string, messages: readonly OutgoingMessage[]) {
        await broker.publish(topicName, messages);
        for (const m of messages) accepted.mark((m.payload as { after: { id: number } }).after.id);
      },
    });
    const relay = await startRelay({ service, unit, databaseUrl: url, broker: observed, logger });
    cleanups.push(() => relay.stop(0));
    for (let i = 0; i < 200 && !(relay.status().state === 'active' && (await pool.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'bench_changes' AND active")).rowCount); i++) await sleep(50);

    // Latency: single-row transactions from one connection at up to a fixed rate; each path's
    // arrival time minus the commit time logical decoding reports for the row's transaction.
    const ids: number[] = [];
    const gap = 1000 / plan.ratePerSec;
    const start = performance.now();
    const writer = await pool.connect();
    try {
      for (let i = 0; i < plan.events; i++) {
        const wait = start + i * gap - performance.now();
        if (wait > 0) await sleep(wait);
        ids.push(i + 1);
        await writer.query("INSERT INTO events (id, body) VALUES ($1, 'x')", [i + 1]);
      }
    } finally {
      writer.release();
    }
    // `accepted` too: a consumer can see a message before the relay's publish call has returned.
    await Promise.all([ours.until(plan.events, 60_000, 'cdc'), accepted.until(plan.events, 60_000, 'accepted'), notify.until(plan.events, 60_000, 'notify'), raw.until(plan.events, 60_000, 'raw')]);
    const oursL = latencies(committed, ours, ids);
    const notifyL = latencies(committed, notify, ids);
    const rawL = latencies(committed, raw, ids);
    const acceptedL = latencies(committed, accepted, ids);

    // Throughput: one burst of rows in transactions of 1,000; time until the last one arrives.
    const base = plan.events + 1;
    const t0 = performance.now();
    for (let i = 0; i < plan.burst; i += 1000) {
      await pool.query("INSERT INTO events (id, body) SELECT g, 'x' FROM generate_series($1::int, $2::int) g", [base + i, base + Math.min(i + 1000, plan.burst) - 1]);
    }
    const total = plan.events + plan.burst;
    await raw.until(total, 120_000, 'raw burst');
    const rawSecs = (performance.now() - t0) / 1000;
    for (let i = 0; i < 6000 && relay.status().changesRelayed < total; i++) await sleep(10);
    const relaySecs = (performance.now() - t0) / 1000;
    await ours.until(total, 300_000, 'cdc burst');
    const oursSecs = (performance.now() - t0) / 1000;

    // Correctness: every row reached the handler; the relay confirmed past the burst.
    for (let id = 1; id <= total; id++) if (!ours.at.has(id)) throw new Error(`cdc: row ${id} never reached the handler`);
    if (relay.status().changesRelayed < total) throw new Error(`cdc: relay reports ${relay.status().changesRelayed} changes, expected ${total}`);

    const p = (xs: number[], q: number) => Number(percentile(xs, q).toFixed(2));
    const fig = (name: string, unitName: string, o: number, b: number, ratio: (o: number, b: number) => number): Figure => ({ name, unit: unitName, ours: o, baseline: b, ratio: Number(ratio(o, b).toFixed(3)) });
    return [
      fig('commit → handler p50 vs LISTEN/NOTIFY trigger', 'ms', p(oursL, 50), p(notifyL, 50), lower),
      fig('commit → handler p99 vs LISTEN/NOTIFY trigger', 'ms', p(oursL, 99), p(notifyL, 99), lower),
      fig('commit → handler p50 vs bare logical replication receive', 'ms', p(oursL, 50), p(rawL, 50), lower),
      fig('commit → handler p99 vs bare logical replication receive', 'ms', p(oursL, 99), p(rawL, 99), lower),
      fig('commit → accepted by the broker (relay only) p50 vs bare logical replication receive', 'ms', p(acceptedL, 50), p(rawL, 50), lower),
      fig('commit → accepted by the broker (relay only) p99 vs bare logical replication receive', 'ms', p(acceptedL, 99), p(rawL, 99), lower),
      fig(`burst of ${plan.burst} rows → accepted by the broker vs bare logical replication receive`, 'rows/s', Math.round(plan.burst / relaySecs), Math.round(plan.burst / rawSecs), higher),
      fig(`burst of ${plan.burst} rows → handlers vs bare logical replication receive`, 'rows/s', Math.round(plan.burst / oursSecs), Math.round(plan.burst / rawSecs), higher),
    ];
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const scenario: Scenario = { name: 'cdc', run };
export default scenario;
