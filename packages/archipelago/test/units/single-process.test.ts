// Several units in ONE process (`archipelago run api worker realtime`, what `up --single-process` runs).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../../src/database/index.js';
import { createBroker, createMessaging } from '../../src/messaging/index.js';
import { createTestDatabase } from '../support/db.js';
import { killAll, startReplica } from '../support/replica-process.js';
import { work } from '../fixtures/hosts/src/topics.js';

const CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hosts/archipelago.config.ts');
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('hosts_single');
});
afterAll(() => killAll());

describe.concurrent('several units in one process', { timeout: 120_000 }, () => {
  it('serves the api routes, consumes as the worker and accepts WebSockets, then drains them all on SIGTERM', async () => {
    const [apiPort, rtPort] = [await freePort(), await freePort()];
    const r = startReplica(['run', 'api', 'worker', 'realtime', '--config', CONFIG], {
      env: { DATABASE_URL: databaseUrl, FIXTURE_API_PORT: String(apiPort), FIXTURE_RT_PORT: String(rtPort), ARCHIPELAGO_ADMIN_PORT: '0', ARCHIPELAGO_REPLICA: 'solo' },
    });
    const { adminPort } = await r.message('arch:listening');
    await r.message('arch:ready');
    const pids = new Set<number>();

    expect(await (await fetch(`http://127.0.0.1:${apiPort}/hello`)).json()).toEqual({ hello: 'hello', replica: 'solo', unit: 'api' });

    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    const broker = createBroker({ broker: { kind: 'postgres' } }, { databaseUrl, pool });
    const messaging = createMessaging(broker, { unit: 'test', logger: pino({ level: 'silent' }) });
    try {
      await messaging.publish(work, { n: 7 });
      // The api's ctx.publish (in a transaction) reaches the worker in the same process.
      const enq = await fetch(`http://127.0.0.1:${apiPort}/enqueue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: 8 }) });
      expect(enq.status).toBe(200);
      let rows: { n: number; replica: string }[] = [];
      for (let i = 0; i < 200 && rows.length < 2; i++) {
        rows = (await pool.query<{ n: number; replica: string }>('SELECT n, replica FROM fixture_handled ORDER BY n').catch(() => ({ rows: [] }))).rows;
        if (rows.length < 2) await new Promise((res) => setTimeout(res, 50));
      }
      expect(rows).toEqual([{ n: 7, replica: 'solo' }, { n: 8, replica: 'solo' }]);
    } finally {
      await messaging.close();
      await broker.close();
      await pool.end();
    }

    const ws = new WebSocket(`ws://127.0.0.1:${rtPort}/live?token=good`);
    const welcome = await new Promise<any>((resolve, reject) => { ws.once('message', (d) => resolve(JSON.parse(d.toString()))); ws.once('error', reject); });
    expect(welcome).toEqual({ type: 'welcome', user: 'alice' });
    const wsClosed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));

    expect(await (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).json()).toEqual({ status: 'ready' });
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    for (const unit of ['api', 'worker', 'realtime']) expect(metrics).toContain(`unit="${unit}"`);
    expect(metrics).toMatch(/^archipelago_messages_total\{[^}]*unit="worker"[^}]*\} 2$/m);

    // One process: every unit's log lines carry the same pid.
    for (const l of r.logs) if (typeof l.pid === 'number') pids.add(l.pid);
    expect(pids.size).toBe(1);
    expect(new Set(r.logs.map((l) => l.unit)).has('worker')).toBe(true);

    r.child.kill('SIGTERM');
    expect(await wsClosed).toBe(1012);
    expect((await r.exited).code).toBe(0);
  });

  it('refuses to put a cron or job in a shared process', async () => {
    const r = startReplica(['run', 'api', 'job-ok', '--config', CONFIG], { env: { DATABASE_URL: databaseUrl } });
    expect((await r.exited).code).toBe(2);
    expect(r.stderr()).toContain('"job-ok" is a job');
  });
});
