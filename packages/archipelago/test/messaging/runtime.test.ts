// The Messaging facade over a broker: ids, schema checks, deadlines, error mapping, combined handles.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMemoryBroker, createMessaging } from '../../src/messaging/index.js';
import { topic } from '../../src/messaging/topic.js';
import { subscribe, type UnitContext } from '../../src/units/define.js';

const T = topic('orders', { schema: z.object({ n: z.number() }) });
const logger = pino({ level: 'silent' });
const until = async (fn: () => boolean | Promise<boolean>) => { const end = Date.now() + 5000; while (!(await fn())) { if (Date.now() > end) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 5)); } };

describe('createMessaging', () => {
  it('gives random UUIDs unless an id is given, and publishMany returns one id per message', async () => {
    const m = createMessaging(createMemoryBroker(), { unit: 'u', logger });
    const a = await m.publish(T, { n: 1 });
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(await m.publish(T, { n: 1 }, { id: 'mine' })).toBe('mine');
    const ids = await m.publishMany(T, [{ n: 1 }, { n: 2 }]);
    expect(new Set(ids).size).toBe(2);
    await expect(m.publishMany(T, [{ n: 1 }, { n: 'x' } as never])).rejects.toMatchObject({ code: 'ARCH_E_SCHEMA', details: ['n: Invalid input: expected number, received string'] });
  });

  it('aborts a handler\'s signal at its deadline, fails it with ARCH_E_DEADLINE, and dead-letters after maxAttempts', async () => {
    const broker = createMemoryBroker();
    const m = createMessaging(broker, { unit: 'u', logger });
    const stopsWhenAborted = (d: { signal: AbortSignal }) => new Promise<void>((_, reject) => d.signal.addEventListener('abort', () => reject(new Error('stopped'))));
    const h = await m.startSubscriptions([subscribe(T, 'slow', stopsWhenAborted, { deadline: '50ms', maxAttempts: 2, backoff: { initial: '1ms' } })], {} as UnitContext);
    await m.publish(T, { n: 1 });
    await until(async () => (await broker.stats('slow')).deadLetters === 1);
    const [d] = await broker.deadLetters.list('slow');
    expect(d!.error).toContain('ARCH_E_DEADLINE');
    expect(d!.attempts).toBe(2);
    await h.stop(10);
  });

  it('keeps the slot of a handler that ignores its deadline until it settles, and reports the overrun once', async () => {
    const broker = createMemoryBroker();
    const overruns: { subscription: string; attempt: number }[] = [];
    const m = createMessaging(broker, { unit: 'u', logger, onOverrun: (o) => overruns.push(o) });
    let calls = 0;
    let finish!: () => void;
    const h = await m.startSubscriptions([subscribe(T, 'stuck', () => { calls++; return new Promise<void>((r) => { finish = r; }); }, { deadline: '50ms', backoff: { initial: '1ms' } })], {} as UnitContext);
    await m.publish(T, { n: 1 });
    // The overrun point is half a second past the deadline; the lease (1.05 s) ends after it.
    await until(() => overruns.length === 1);
    expect(overruns[0]).toMatchObject({ subscription: 'stuck', attempt: 1 });
    expect(calls).toBe(1);
    expect(h.inFlight).toBe(1);
    finish();
    await until(() => calls === 2);
    expect(h.maxInFlight).toBe(1);
    finish();
    await h.stop(100);
  });

  it('maps a thrown error to a retry carrying its stack, and the combined handle sums inFlight over subscriptions', async () => {
    const broker = createMemoryBroker();
    const m = createMessaging(broker, { unit: 'u', logger });
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const attempts: number[] = [];
    const h = await m.startSubscriptions([
      subscribe(T, 'a', () => gate),
      subscribe(T, 'b', async (d) => { attempts.push(d.attempt); if (d.attempt === 1) throw new TypeError('flaky'); await gate; }, { backoff: { initial: '1ms' } }),
    ], {} as UnitContext);
    await m.publish(T, { n: 1 });
    await until(() => attempts.length === 2 && h.inFlight === 2);
    expect(attempts).toEqual([1, 2]);
    release();
    expect(await h.stop(1000)).toEqual({ cut: 0 });
    expect(h.inFlight).toBe(0);
    expect((await broker.stats('b')).backlog).toBe(0);
  });
  it('hands a handler that reads its signal only after the deadline an already aborted signal with ARCH_E_DEADLINE', async () => {
    const broker = createMemoryBroker();
    const m = createMessaging(broker, { unit: 'u', logger });
    const seen: { aborted: boolean; reason: unknown }[] = [];
    const h = await m.startSubscriptions([subscribe(T, 'late-reader', async (d) => {
      await new Promise((r) => setTimeout(r, 120));
      seen.push({ aborted: d.signal.aborted, reason: d.signal.reason });
    }, { deadline: '50ms', maxAttempts: 1 })], {} as UnitContext);
    await m.publish(T, { n: 1 });
    await until(async () => (await broker.stats('late-reader')).deadLetters === 1);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.aborted).toBe(true);
    expect(seen[0]!.reason).toMatchObject({ code: 'ARCH_E_DEADLINE' });
    expect((await broker.deadLetters.list('late-reader'))[0]!.error).toContain('ARCH_E_DEADLINE');
    await h.stop(10);
  });

  it('aborts the signal of every handler still running when a drain\'s grace runs out, without a listener-leak warning at high concurrency', async () => {
    const broker = createMemoryBroker();
    const m = createMessaging(broker, { unit: 'u', logger });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const signals: AbortSignal[] = [];
      const h = await m.startSubscriptions([subscribe(T, 'wide', (d) => { signals.push(d.signal); return new Promise<void>(() => {}); }, { concurrency: 30 })], {} as UnitContext);
      await m.publishMany(T, Array.from({ length: 30 }, (_, n) => ({ n })));
      await until(() => signals.length === 30);
      expect(signals.some((s) => s.aborted)).toBe(false);
      expect(await h.stop(20)).toEqual({ cut: 30 });
      expect(signals.every((s) => s.aborted)).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
