// A seeded scheduler of delivery faults over a real broker: each seed runs a small random schedule
// of publishes (plain, in a committed or rolled-back transaction, publishMany), a new subscription
// provisioned while its worker is at zero, scaling 0 <-> N, handlers that throw, overrun their
// deadline or honour its abort, and drains; then it checks the invariants of the messaging section:
// every message committed after provisioning was handled at least once or is in dead letters after
// attempts that really failed, rolled-back ones never arrive, and no replica ever ran more than
// `concurrency` handlers of a subscription at once.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { z } from 'zod';
import { createMessaging, type Messaging } from '../../src/messaging/index.js';
import type { Broker, ConsumerHandle } from '../../src/messaging/broker.js';
import { topic } from '../../src/messaging/topic.js';
import { subscribe, type UnitContext } from '../../src/units/define.js';

export interface FaultCounts { schedules: number; messages: number; drains: number; scaleEvents: number; throws: number; overruns: number; violations: string[] }

/** mulberry32: a small, fast, seedable generator, so a failing seed replays exactly. */
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

const Job = z.object({ k: z.string(), mode: z.enum(['ok', 'throw-once', 'always-throw', 'slow-honour']) });
type JobMsg = z.infer<typeof Job>;
const logger = pino({ level: 'silent' });

interface Replica { messaging: Messaging; handle: ConsumerHandle; running: number; max: number }

export async function runFaultSchedule(seed: number, o: { newBroker(): Promise<Broker>; pool: pg.Pool; counts: FaultCounts }): Promise<void> {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const id = `${seed}_${randomUUID().slice(0, 6)}`;
  const t = topic(`faults.${id}`, { schema: Job });
  const concurrency = 1 + Math.floor(rand() * 3);
  const subName = `faults-${id}`;
  const attempts = new Map<string, number[]>();
  const handled = new Set<string>();
  const committed = new Map<string, JobMsg>();
  const rolledBack = new Set<string>();
  const replicas: Replica[] = [];
  const brokers: Broker[] = [];
  const publisher = await o.newBroker();
  brokers.push(publisher);
  const pub = createMessaging(publisher, { unit: 'publisher', logger });
  const def = (r: { running: number; max: number }) => subscribe(t, subName, async (d) => {
    r.running++;
    r.max = Math.max(r.max, r.running);
    try {
      (attempts.get(d.message.k) ?? attempts.set(d.message.k, []).get(d.message.k)!).push(d.attempt);
      if (d.message.mode === 'always-throw' || (d.message.mode === 'throw-once' && d.attempt === 1)) throw new Error(`planned failure of ${d.message.k}`);
      if (d.message.mode === 'slow-honour' && d.attempt === 1) {
        await new Promise<void>((_, reject) => d.signal.addEventListener('abort', () => reject(new Error('aborted at the deadline'))));
      }
      handled.add(d.message.k);
    } finally {
      r.running--;
    }
  }, { concurrency, deadline: '300ms', maxAttempts: 3, backoff: { initial: '10ms', max: '50ms' } });
  const scaleUp = async () => {
    const b = await o.newBroker();
    brokers.push(b);
    const messaging = createMessaging(b, { unit: 'faults', logger });
    const r = { messaging, running: 0, max: 0 } as Replica;
    r.handle = await messaging.startSubscriptions([def(r)], {} as UnitContext);
    replicas.push(r);
    o.counts.scaleEvents++;
  };
  const drainOne = async () => {
    const r = replicas.splice(Math.floor(rand() * replicas.length), 1)[0];
    if (!r) return;
    await r.handle.stop(Math.floor(rand() * 200));
    await r.messaging.close();
    o.counts.drains++;
  };
  const mode = (): JobMsg['mode'] => {
    const x = rand();
    if (x < 0.1) { o.counts.throws++; return 'always-throw'; }
    if (x < 0.25) { o.counts.throws++; return 'throw-once'; }
    if (x < 0.35) { o.counts.overruns++; return 'slow-honour'; }
    return 'ok';
  };
  const msg = (): JobMsg => ({ k: randomUUID(), mode: mode() });

  // The subscription is new and its worker at zero: provisioning alone must keep what follows.
  const spec = { name: subName, topic: t.name, unit: 'faults', concurrency, maxAttempts: 3, backoff: { initialMs: 10, maxMs: 50, factor: 2 }, deadlineMs: 300 };
  await publisher.ensureSubscription(spec);
  const steps = 6 + Math.floor(rand() * 6);
  for (let i = 0; i < steps; i++) {
    const op = pick(['plain', 'tx-commit', 'tx-rollback', 'many', 'up', 'up', 'down', 'pause'] as const);
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
    if (op === 'up' && replicas.length < 3) await scaleUp();
    if (op === 'down') await drainOne();
    if (op === 'pause') await new Promise((r) => setTimeout(r, Math.floor(rand() * 150)));
  }
  o.counts.messages += committed.size + rolledBack.size;
  if (replicas.length === 0) await scaleUp();
  const dead = async () => new Set((await publisher.deadLetters.list(subName, { limit: 1000 })).map((d) => (d.payload as JobMsg).k));
  const end = Date.now() + 60_000;
  let deadSet = new Set<string>();
  for (;;) {
    deadSet = await dead();
    if ([...committed.keys()].every((k) => handled.has(k) || deadSet.has(k))) break;
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const v = (s: string) => o.counts.violations.push(`seed ${seed}: ${s}`);
  for (const [k, m] of committed) {
    if (handled.has(k)) continue;
    if (!deadSet.has(k)) { v(`message ${k} (${m.mode}) was neither handled nor dead-lettered`); continue; }
    const tried = attempts.get(k) ?? [];
    if (m.mode !== 'always-throw' || tried.length < 3) v(`message ${k} (${m.mode}) reached dead letters after attempts ${JSON.stringify(tried)}`);
  }
  for (const k of rolledBack) if (attempts.has(k)) v(`rolled-back message ${k} was delivered`);
  for (const r of replicas) if (r.max > concurrency || r.handle.maxInFlight > concurrency) v(`a replica ran ${Math.max(r.max, r.handle.maxInFlight)} handlers at once (concurrency ${concurrency})`);
  for (const r of replicas) { await r.handle.stop(1000); await r.messaging.close(); }
  await pub.close();
  for (const b of brokers) await b.close();
  o.counts.schedules++;
}
