// The chaos run shared by the broker chaos tests: 20,000 messages through one subscription while
// its consumer processes are SIGKILLed at random about every second; effects are counted in SQL.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { expect } from 'vitest';
import type { Broker, SubscriptionSpec } from '../../src/messaging/broker.js';
import { startConsumer, type Child } from './children.js';

export async function chaosRun(o: { broker: Broker; databaseUrl: string; childEnv: Record<string, string>; total?: number; log?: (msg: string) => void }) {
  const total = o.total ?? Number(process.env.CHAOS_TOTAL ?? 20_000);
  const log = o.log ?? (() => {});
  const db = new pg.Client({ connectionString: o.databaseUrl });
  await db.connect();
  const kids: Child[] = [];
  try {
    await db.query('CREATE TABLE IF NOT EXISTS effects (id text PRIMARY KEY)');
    const id = randomBytes(4).toString('hex');
    const spec: SubscriptionSpec = {
      name: `chaos-${id}`, topic: `chaos-${id}`, unit: 'chaos', concurrency: 64, maxAttempts: 100,
      backoff: { initialMs: 10, maxMs: 100, factor: 2 }, deadlineMs: 2000,
    };
    await o.broker.ensureSubscription(spec);
    const env = { ...o.childEnv, SUB: spec.name, TOPIC: spec.topic, MODE: 'effects', CONCURRENCY: String(spec.concurrency), DEADLINE_MS: String(spec.deadlineMs) };
    const start = () => { const k = startConsumer(env); kids.push(k); return k; };
    const alive = () => kids.filter((k) => k.proc.exitCode === null && k.proc.signalCode === null);
    for (let i = 0; i < 3; i++) start();
    const now = new Date();
    await o.broker.publish(spec.topic, Array.from({ length: total }, (_, i) => ({ id: randomUUID(), payload: { i }, publishedAt: now })));
    const count = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM effects')).rows[0]!.n;
    const began = Date.now();
    let kills = 0;
    let handled = 0;
    let progress = { at: Date.now(), n: 0 };
    while ((handled = await count()) < total) {
      // A stall (no new effect for 45 s) fails the run; mere slowness on a loaded machine does not.
      if (handled > progress.n) progress = { at: Date.now(), n: handled };
      if (Date.now() - progress.at > 45_000) throw new Error(`chaos run stalled at ${handled}/${total} after ${kills} kills`);
      await new Promise((r) => setTimeout(r, 600 + Math.random() * 800));
      // Only a consumer that has started working is killed, and never the last one working, so a
      // slow start on a loaded machine cannot starve the run.
      const working = alive().filter((k) => k.lines.includes('ready'));
      if (working.length >= 2 && (await count()) < total) {
        await working[Math.floor(Math.random() * working.length)]!.kill('SIGKILL');
        kills++;
      }
      while (alive().length < 3) start();
    }
    log(`chaos: ${total} handled in ${Date.now() - began} ms with ${kills} SIGKILLs`);
    expect(kills).toBeGreaterThan(0);
    expect(await count()).toBe(total);
    const until = Date.now() + 30_000;
    while ((await o.broker.stats(spec.name)).backlog > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    const st = await o.broker.stats(spec.name);
    expect(st.backlog).toBe(0);
    expect(st.deadLetters).toBe(0);
  } finally {
    await Promise.all(kids.map((k) => k.kill('SIGKILL')));
    await db.end();
  }
}
