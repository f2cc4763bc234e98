// One conformance suite every broker runs (postgres, nats, memory); a skipped test states why.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { topic } from '../../src/messaging/topic.js';
import { createMessaging } from '../../src/messaging/runtime.js';
import type { Broker, HandlerOutcome, RawDelivery, SubscriptionSpec } from '../../src/messaging/broker.js';
import { subscribe } from '../../src/units/define.js';
import type { UnitContext } from '../../src/units/define.js';
import { killAll, startConsumer } from './children.js';

export interface ConformanceOptions {
  readonly name: string;
  /** A new broker (own connections) on the same backing store as every other one from this call. */
  newBroker(): Promise<Broker>;
  /** Environment for fixture processes to build the same broker; cross-process tests need it. */
  childEnv?(): Record<string, string>;
  /** A database URL for transactional publish. */
  databaseUrl?(): string;
  readonly skip?: readonly { reason: string; tests: readonly string[] }[];
}

/** Tests that start consumer processes: a child's start can take many seconds on a loaded machine. */
const CHILD_TIMEOUT = 240_000;
const uid = () => randomUUID().slice(0, 8);
const until = async (what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const msg = (payload: unknown, id = randomUUID(), publishedAt = new Date()) => ({ id, payload, publishedAt });
const spec = (name: string, topicName: string, o: Partial<SubscriptionSpec> = {}): SubscriptionSpec => ({
  name, topic: topicName, unit: 'conformance', concurrency: 4, maxAttempts: 5,
  backoff: { initialMs: 20, maxMs: 1000, factor: 2 }, deadlineMs: 5000, ...o,
});

export function runBrokerConformance(opts: ConformanceOptions): void {
  const skipped = new Map<string, string>();
  for (const s of opts.skip ?? []) for (const t of s.tests) skipped.set(t, s.reason);
  const brokers: Broker[] = [];
  const fresh = async () => { const b = await opts.newBroker(); brokers.push(b); await b.init(); return b; };
  const test = (name: string, fn: () => Promise<void>, timeout?: number) => {
    const reason = skipped.get(name);
    if (reason) {
      it.skip(`${name} (skipped: ${reason})`, () => {});
      console.log(`[conformance ${opts.name}] skipped "${name}": ${reason}`);
    } else it(name, fn, timeout);
  };
  const consume = async (b: Broker, s: SubscriptionSpec, fn: (d: RawDelivery) => Promise<HandlerOutcome> | HandlerOutcome = () => ({ ok: true })) => {
    const got: RawDelivery[] = [];
    const handle = await b.consume(s, async (d) => { got.push(d); return fn(d); });
    return { got, handle };
  };

  describe(`broker conformance: ${opts.name}`, () => {
    afterEach(async () => { await killAll(); });
    afterAll(async () => { for (const b of brokers) await b.close(); });

    test('delivery: every published message reaches the subscription once, with id, payload, attempt and publish time', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t);
      await b.ensureSubscription(s);
      const sent = [msg({ n: 1 }), msg({ n: 2 }), msg({ n: 3, nested: { a: [1, 'x'] } })];
      await b.publish(t, sent);
      const { got, handle } = await consume(b, s);
      await until('3 deliveries', () => got.length >= 3);
      await handle.stop(1000);
      expect(got.map((d) => d.id).sort()).toEqual(sent.map((m) => m.id).sort());
      for (const d of got) {
        const m = sent.find((x) => x.id === d.id)!;
        expect(d.payload).toEqual(m.payload);
        expect(d.attempt).toBe(1);
        expect(d.topic).toBe(t);
        expect(d.subscription).toBe(s.name);
        expect(Math.abs(d.publishedAt.getTime() - m.publishedAt.getTime())).toBeLessThan(1000);
      }
      expect((await b.stats(s.name)).backlog).toBe(0);
    });

    test('fan-out: one topic reaches every subscription registered on it, and no other', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const other = `t-${uid()}`;
      const s1 = spec(`s-${uid()}`, t); const s2 = spec(`s-${uid()}`, t); const s3 = spec(`s-${uid()}`, other);
      for (const s of [s1, s2, s3]) await b.ensureSubscription(s);
      const sent = Array.from({ length: 20 }, (_, i) => msg({ i }));
      await b.publish(t, sent);
      const [c1, c2, c3] = [await consume(b, s1), await consume(b, s2), await consume(b, s3)];
      await until('both subscriptions', () => c1.got.length >= 20 && c2.got.length >= 20);
      await new Promise((r) => setTimeout(r, 100));
      for (const c of [c1, c2, c3]) await c.handle.stop(1000);
      expect(new Set(c1.got.map((d) => d.id)).size).toBe(20);
      expect(new Set(c2.got.map((d) => d.id)).size).toBe(20);
      expect(c3.got).toHaveLength(0);
    });

    test('a busy consumer holds a bounded share: a second consumer started later gets the rest', async () => {
      const b1 = await fresh();
      const b2 = await fresh();
      const t = `t-${uid()}`;
      const s = spec(`s-${uid()}`, t, { concurrency: 1 });
      await b1.ensureSubscription(s);
      await b1.publish(t, Array.from({ length: 300 }, (_, i) => msg({ i })));
      let release!: () => void;
      const released = new Promise<void>((r) => { release = r; });
      // The first consumer's one handler blocks: whatever it pulled meanwhile stays with it.
      const busy = await consume(b1, s, async () => { await released; return { ok: true }; });
      await until('the busy handler', () => busy.got.length === 1);
      await new Promise((r) => setTimeout(r, 500));
      const late = await consume(b2, { ...s, concurrency: 4 });
      await until('the late consumer handling most of the backlog', () => late.got.length >= 200);
      release();
      await until('everything handled', () => new Set([...busy.got, ...late.got].map((d) => d.id)).size === 300);
      await busy.handle.stop(1000);
      await late.handle.stop(1000);
    });

    test('competing consumers across processes share one subscription and together handle everything', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t, { concurrency: 1 });
      await b.ensureSubscription(s);
      const env = { ...opts.childEnv!(), SUB: s.name, TOPIC: t, CONCURRENCY: '1', HANDLER_MS: '5' };
      const kids = [startConsumer(env), startConsumer(env)];
      await Promise.all(kids.map((k) => k.waitFor((l) => l === 'ready')));
      const sent = Array.from({ length: 120 }, (_, i) => msg({ i }));
      await b.publish(t, sent);
      const done = () => kids.flatMap((k) => k.lines.filter((l) => l.startsWith('done ')).map((l) => l.slice(5)));
      await until('all handled', () => new Set(done()).size >= sent.length, 90_000);
      expect(new Set(done())).toEqual(new Set(sent.map((m) => m.id)));
      for (const k of kids) expect(k.lines.some((l) => l.startsWith('done '))).toBe(true);
      await until('acks recorded', async () => (await b.stats(s.name)).backlog === 0);
    }, CHILD_TIMEOUT);

    test('redelivery: a message held by a SIGKILLed consumer process is delivered again', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t, { concurrency: 1, deadlineMs: 1000 });
      await b.ensureSubscription(s);
      const kid = startConsumer({ ...opts.childEnv!(), SUB: s.name, TOPIC: t, MODE: 'hang', DEADLINE_MS: '1000' });
      await kid.waitFor((l) => l === 'ready');
      const m = msg({ crash: true });
      await b.publish(t, [m]);
      await kid.waitFor((l) => l.startsWith(`got ${m.id}`));
      await kid.kill('SIGKILL');
      const { got, handle } = await consume(b, s);
      await until('redelivery', () => got.length >= 1, 60_000);
      await handle.stop(1000);
      expect(got[0]!.id).toBe(m.id);
      expect(got[0]!.attempt).toBe(2);
    }, CHILD_TIMEOUT);

    test('retry and backoff: a thrown error retries with growing delays until it succeeds', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t, { backoff: { initialMs: 150, maxMs: 10_000, factor: 2 } });
      await b.ensureSubscription(s);
      const times: number[] = [];
      const { got, handle } = await consume(b, s, (d) => { times.push(Date.now()); return d.attempt < 3 ? { ok: false, error: `fail ${d.attempt}` } : { ok: true }; });
      await b.publish(t, [msg({ x: 1 })]);
      await until('third attempt', () => got.length >= 3);
      await until('settled', async () => (await b.stats(s.name)).backlog === 0);
      await handle.stop(1000);
      expect(got.map((d) => d.attempt)).toEqual([1, 2, 3]);
      // Lower bounds only: a retry never comes before its back-off (150 ms, then 300 ms).
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(140);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(290);
      expect((await b.stats(s.name)).deadLetters).toBe(0);
    });

    test('dead letters: after maxAttempts a message moves to dead letters with its last error; replay and purge work', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t, { maxAttempts: 2, backoff: { initialMs: 10, maxMs: 10, factor: 1 } });
      await b.ensureSubscription(s);
      let healthy = false;
      const { got, handle } = await consume(b, s, (d) => (healthy ? { ok: true } : { ok: false, error: `boom ${d.attempt}` }));
      const [m1, m2] = [msg({ a: 1 }), msg({ a: 2 })];
      await b.publish(t, [m1, m2]);
      await until('two dead letters', async () => (await b.stats(s.name)).deadLetters === 2);
      expect(got.filter((d) => d.id === m1.id).map((d) => d.attempt)).toEqual([1, 2]);
      const list = await b.deadLetters.list(s.name);
      expect(list.map((d) => d.id).sort()).toEqual([m1.id, m2.id].sort());
      const one = await b.deadLetters.get(s.name, m1.id);
      expect(one).toMatchObject({ id: m1.id, subscription: s.name, topic: t, payload: { a: 1 }, error: 'boom 2', attempts: 2 });
      expect(await b.deadLetters.get(s.name, randomUUID())).toBeUndefined();
      expect((await b.stats(s.name)).backlog).toBe(0);
      healthy = true;
      expect(await b.deadLetters.replay(s.name, [m1.id])).toBe(1);
      await until('replayed delivery', () => got.some((d) => d.id === m1.id && d.attempt === 1 && got.indexOf(d) > 1));
      await until('replayed acked', async () => (await b.stats(s.name)).backlog === 0);
      expect(await b.deadLetters.purge(s.name)).toBe(1);
      expect(await b.deadLetters.list(s.name)).toEqual([]);
      expect((await b.stats(s.name)).deadLetters).toBe(0);
      await handle.stop(1000);
      await expect(b.deadLetters.list(`missing-${uid()}`)).rejects.toMatchObject({ code: 'ARCH_E_SUBSCRIPTION_UNKNOWN' });
    });

    test('schema: publish rejects a bad message; a bad payload on consume goes to dead letters at once', async () => {
      const b = await fresh();
      const T = topic(`t-${uid()}`, { schema: z.object({ n: z.number() }) });
      const name = `s-${uid()}`;
      const messaging = createMessaging(b, { unit: 'conformance', logger: pino({ level: 'silent' }) });
      await expect(messaging.publish(T, { n: 'x' } as never)).rejects.toMatchObject({ code: 'ARCH_E_SCHEMA' });
      const seen: unknown[] = [];
      const def = subscribe(T, name, (d) => { seen.push(d.message); }, { maxAttempts: 5 });
      const handle = await messaging.startSubscriptions([def], {} as UnitContext);
      await b.publish(T.name, [msg({ n: 'not a number' })]);
      const good = await messaging.publish(T, { n: 7 });
      await until('dead letter', async () => (await b.stats(name)).deadLetters === 1);
      await until('good one handled', () => seen.length === 1);
      const [dead] = await b.deadLetters.list(name);
      expect(dead!.attempts).toBe(1);
      expect(dead!.error).toContain('ARCH_E_SCHEMA');
      expect(seen).toEqual([{ n: 7 }]);
      expect(typeof good).toBe('string');
      await handle.stop(1000);
      await messaging.close();
    });

    test('transactional publish: a rolled-back transaction publishes nothing; a committed one delivers', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t);
      await b.ensureSubscription(s);
      const client = new pg.Client({ connectionString: opts.databaseUrl!() });
      await client.connect();
      try {
        const rolled = msg({ tx: 'rollback' }); const committed = msg({ tx: 'commit' });
        await client.query('BEGIN');
        await b.publish(t, [rolled], { tx: client });
        await client.query('ROLLBACK');
        await client.query('BEGIN');
        await b.publish(t, [committed], { tx: client });
        const { got, handle } = await consume(b, s);
        await new Promise((r) => setTimeout(r, 200));
        expect(got).toHaveLength(0);
        await client.query('COMMIT');
        await until('committed delivery', () => got.length >= 1);
        await new Promise((r) => setTimeout(r, 300));
        await handle.stop(1000);
        expect(got.map((d) => d.id)).toEqual([committed.id]);
      } finally {
        await client.end();
      }
    });

    test('backlog and age: stats count waiting messages and the oldest one\'s age', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t);
      await b.ensureSubscription(s);
      expect(await b.stats(s.name)).toMatchObject({ subscription: s.name, topic: t, backlog: 0, oldestAgeMs: null, deadLetters: 0 });
      await b.publish(t, [msg({ i: 0 }, randomUUID(), new Date(Date.now() - 60_000)), ...Array.from({ length: 4 }, (_, i) => msg({ i }))]);
      const st = await b.stats(s.name);
      expect(st.backlog).toBe(5);
      expect(st.oldestAgeMs).toBeGreaterThanOrEqual(59_000);
      const { got, handle } = await consume(b, s);
      await until('drained', async () => got.length >= 5 && (await b.stats(s.name)).backlog === 0);
      expect((await b.stats(s.name)).oldestAgeMs).toBeNull();
      await handle.stop(1000);
      await expect(b.stats(`missing-${uid()}`)).rejects.toMatchObject({ code: 'ARCH_E_SUBSCRIPTION_UNKNOWN' });
    });

    test('broadcast: reaches every listening broker instance and is not stored', async () => {
      const [b1, b2] = [await fresh(), await fresh()];
      const t = `t-${uid()}`;
      const got1: unknown[] = []; const got2: unknown[] = []; const other: unknown[] = [];
      const off1 = await b1.onBroadcast(t, (p) => got1.push(p));
      const off2 = await b2.onBroadcast(t, (p) => got2.push(p));
      const off3 = await b2.onBroadcast(`t-${uid()}`, (p) => other.push(p));
      await b1.broadcast(t, { hello: 'world' });
      await until('both listeners', () => got1.length === 1 && got2.length === 1);
      expect(got2[0]).toEqual({ hello: 'world' });
      await off2();
      await b1.broadcast(t, { n: 2 });
      await until('first listener', () => got1.length === 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(got2).toHaveLength(1);
      expect(other).toHaveLength(0);
      await expect(b1.broadcast(t, { big: 'x'.repeat(10_000) })).rejects.toMatchObject({ code: 'ARCH_E_BROKER' });
      await off1(); await off3();
    });

    test('drain on stop: in-flight handlers finish within the grace period; what is cut is released at once', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t, { concurrency: 2, deadlineMs: 20_000 });
      await b.ensureSubscription(s);
      let started = 0;
      const { handle } = await consume(b, s, async () => { started++; await new Promise((r) => setTimeout(r, 300)); return { ok: true }; });
      await b.publish(t, [msg({ a: 1 }), msg({ a: 2 })]);
      await until('both started', () => started === 2);
      expect(handle.inFlight).toBe(2);
      expect(await handle.stop(5000)).toEqual({ cut: 0 });
      expect(handle.inFlight).toBe(0);
      expect((await b.stats(s.name)).backlog).toBe(0);
      // A handler that outlives the grace period is cut and its message released, long before its lease ends.
      const hung = await consume(b, s, () => new Promise<HandlerOutcome>(() => {}));
      const m = msg({ hang: true });
      await b.publish(t, [m]);
      await until('hung started', () => hung.got.length === 1);
      expect(await hung.handle.stop(50)).toEqual({ cut: 1 });
      const after = await consume(b, s);
      await until('released message redelivered', () => after.got.length === 1, 10_000);
      expect(after.got[0]!.id).toBe(m.id);
      await after.handle.stop(1000);
    });

    test('a release is not an attempt: a message cut by four drains comes back at attempt 1 and never reaches dead letters', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t, { concurrency: 1, maxAttempts: 2 });
      await b.ensureSubscription(s);
      await b.publish(t, [msg({ cut: true })]);
      const attempts: number[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await consume(b, s, (d) => { attempts.push(d.attempt); return new Promise<HandlerOutcome>(() => {}); });
        await until('the delivery', () => c.got.length === 1, 30_000);
        expect(await c.handle.stop(0)).toEqual({ cut: 1 });
      }
      const last = await consume(b, s);
      await until('the last delivery', () => last.got.length === 1, 30_000);
      await last.handle.stop(1000);
      expect([...attempts, last.got[0]!.attempt]).toEqual([1, 1, 1, 1, 1]);
      expect((await b.stats(s.name)).deadLetters).toBe(0);
    });

    test('concurrency is a hard bound: handlers that never return hold every slot and nothing more is taken', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t, { concurrency: 2 });
      await b.ensureSubscription(s);
      const c = await consume(b, s, () => new Promise<HandlerOutcome>(() => {}));
      await b.publish(t, Array.from({ length: 10 }, (_, i) => msg({ i })));
      await until('two running', () => c.got.length === 2);
      await new Promise((r) => setTimeout(r, 1000));
      expect(c.got).toHaveLength(2);
      expect(c.handle.maxInFlight).toBe(2);
      expect(await c.handle.stop(0)).toEqual({ cut: 2 });
    });

    test('bounded prefetch: 30 messages, concurrency 1, 300 ms handlers, a 2 s lease: none is delivered twice', async () => {
      const b = await fresh();
      const t = `t-${uid()}`; const s = spec(`s-${uid()}`, t, { concurrency: 1, deadlineMs: 1000 });
      await b.ensureSubscription(s);
      await b.publish(t, Array.from({ length: 30 }, (_, i) => msg({ i })));
      const c = await consume(b, s, async () => { await new Promise((r) => setTimeout(r, 300)); return { ok: true }; });
      await until('every message handled', () => new Set(c.got.map((d) => d.id)).size === 30, 60_000);
      await new Promise((r) => setTimeout(r, 2500));
      await c.handle.stop(1000);
      expect(c.got).toHaveLength(30);
      expect(c.handle.maxInFlight).toBe(1);
    }, 90_000);

    test('close is idempotent and a closed broker refuses work with ARCH_E_BROKER', async () => {
      const b = await opts.newBroker();
      await b.init();
      await Promise.all([b.close(), b.close()]);
      await b.close();
      await expect(b.publish(`t-${uid()}`, [msg(1)])).rejects.toMatchObject({ code: 'ARCH_E_BROKER', message: 'the broker is closed' });
    });
  });
}
