// `archipelago topics` and `archipelago dlq` against a real postgres broker and a fixture service.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { databaseUrlFor } from '../../src/cli/broker-connection.js';
import { createPostgresBroker } from '../../src/messaging/index.js';
import type { Broker, SubscriptionSpec } from '../../src/messaging/broker.js';
import { createTestDatabase } from '../support/db.js';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
let dir = '';
let url = '';
let broker: Broker;
const spec: SubscriptionSpec = { name: 'count-orders', topic: 'order-placed', unit: 'worker', concurrency: 1, maxAttempts: 1, backoff: { initialMs: 1, maxMs: 1, factor: 1 }, deadlineMs: 5000 };

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []; const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  try {
    const code = await main([...argv, '--config', path.join(dir, 'archipelago.config.ts')]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally { log.mockRestore(); error.mockRestore(); }
}

beforeAll(async () => {
  url = await createTestDatabase('cli_msg');
  dir = mkdtempSync(path.join(os.tmpdir(), 'arch-cli-msg-'));
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'archipelago.config.ts'), `export default { name: 'shop', units: [
    { name: 'api', kind: 'api', entry: 'src/api.ts', port: 3999 },
    { name: 'worker', kind: 'worker', entry: 'src/worker.ts' },
  ] };\n`);
  writeFileSync(path.join(dir, 'src/topics.ts'), `import { z } from 'zod';\nimport { topic } from ${JSON.stringify(`${src}/messaging/topic.ts`)};\nexport const OrderPlaced = topic('order-placed', { schema: z.object({ n: z.number() }) });\n`);
  writeFileSync(path.join(dir, 'src/api.ts'), `import { api } from ${JSON.stringify(`${src}/units/define.ts`)};\nimport { OrderPlaced } from './topics.ts';\nexport default api(() => {}, { publishes: [OrderPlaced] });\n`);
  writeFileSync(path.join(dir, 'src/worker.ts'), `import { worker, subscribe } from ${JSON.stringify(`${src}/units/define.ts`)};\nimport { OrderPlaced } from './topics.ts';\nexport default worker({ subscriptions: [subscribe(OrderPlaced, 'count-orders', () => {})] });\n`);
  process.env.DATABASE_URL = url;
  broker = createPostgresBroker({ databaseUrl: url });
  await broker.ensureSubscription(spec);
});
afterAll(async () => {
  delete process.env.DATABASE_URL;
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('archipelago topics and dlq', () => {
  it('topics lists each topic with its subscription, owning unit, backlog, age and dead letters', async () => {
    const h = await broker.consume(spec, async () => ({ ok: false, error: 'Error: card declined\n    at charge' }));
    await broker.publish('order-placed', [{ id: 'dead-1', payload: { n: 1 }, publishedAt: new Date() }]);
    while ((await broker.stats(spec.name)).deadLetters < 1) await new Promise((r) => setTimeout(r, 20));
    await h.stop(1000);
    await broker.publish('order-placed', [{ id: 'a', payload: { n: 2 }, publishedAt: new Date(Date.now() - 90_000) }, { id: 'b', payload: { n: 3 }, publishedAt: new Date() }]);
    const json = await cli('topics', '--json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out) as { topics: { topic: string; publishedBy: string[]; subscriptions: { name: string; unit: string; backlog: number; oldestAgeMs: number; deadLetters: number }[] }[] };
    const t = parsed.topics.find((x) => x.topic === 'order-placed')!;
    expect(t.publishedBy).toEqual(['api']);
    expect(t.subscriptions).toEqual([expect.objectContaining({ name: 'count-orders', unit: 'worker', backlog: 2, deadLetters: 1 })]);
    expect(t.subscriptions[0]!.oldestAgeMs).toBeGreaterThanOrEqual(89_000);
    const text = await cli('topics');
    expect(text.out).toMatch(/order-placed\s+count-orders\s+worker\s+2\s+1m\d+s\s+1/);
  });

  it('dlq list, show, replay and purge act on one subscription\'s dead letters', async () => {
    const list = await cli('dlq', 'list', 'count-orders');
    expect(list.out).toContain('dead-1');
    expect(list.out).toContain('Error: card declined');
    expect(list.out).not.toContain('at charge');
    const show = await cli('dlq', 'show', 'count-orders', 'dead-1', '--json');
    expect(JSON.parse(show.out)).toMatchObject({ id: 'dead-1', attempts: 1, payload: { n: 1 } });
    expect((await cli('dlq', 'replay', 'count-orders', 'dead-1')).out).toBe('replayed 1 dead letter of "count-orders"');
    expect((await broker.stats(spec.name))).toMatchObject({ backlog: 3, deadLetters: 0 });
    expect((await cli('dlq', 'purge', 'count-orders', '--json')).out).toBe('{"purged":0}');
    const missing = await cli('dlq', 'list', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('ARCH_E_SUBSCRIPTION_UNKNOWN');
    expect((await cli('dlq', 'explode', 'count-orders')).code).toBe(2);
  });

  it('finds the database from .archipelago/database.json, else fails with ARCH_E_DATABASE', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'arch-dburl-'));
    try {
      expect(() => databaseUrlFor({ root, name: 'shop' }, {})).toThrow(expect.objectContaining({ code: 'ARCH_E_DATABASE' }));
      mkdirSync(path.join(root, '.archipelago'));
      writeFileSync(path.join(root, '.archipelago/database.json'), JSON.stringify({ url: 'postgres://x@127.0.0.1:5/db' }));
      expect(databaseUrlFor({ root, name: 'shop' }, {})).toBe('postgres://x@127.0.0.1:5/db');
      expect(databaseUrlFor({ root, name: 'shop' }, { DATABASE_URL: 'postgres://env/db' })).toBe('postgres://env/db');
    } finally { rmSync(root, { recursive: true, force: true }); }
  });
});
