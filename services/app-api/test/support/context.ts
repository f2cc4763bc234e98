// Test support: a migrated database of its own per test file and a UnitContext over a real pg pool.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, loadService, migrate, unitByName, type Topic, type UnitContext } from 'archipelago-toolkit';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createTestDatabase } from '../../../../packages/archipelago/test/support/db.js';

export const SERVICE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Published { topic: string; message: unknown }

export interface TestContext extends UnitContext {
  readonly published: Published[];
  readonly broadcasts: Published[];
  close(): Promise<void>;
}

export async function migratedDatabase(): Promise<string> {
  const url = await createTestDatabase('appapi');
  await migrate(url, path.join(SERVICE_ROOT, 'migrations'));
  return url;
}

/**
 * A context for unit `unitName` on database `url`. Publishes and broadcasts are recorded (the
 * brokers are another unit's concern); `onPublish` lets a test deliver them itself.
 */
export async function unitContext(url: string, unitName: string, opts: { config?: Record<string, string>; root?: string } = {}): Promise<TestContext> {
  const { service: loaded } = await loadService(path.join(SERVICE_ROOT, 'archipelago.config.ts'));
  const service = opts.root ? { ...loaded, root: opts.root } : loaded;
  const db = createPool(url, { max: 5, application: `test-${unitName}` });
  const abort = new AbortController();
  const published: Published[] = [];
  const broadcasts: Published[] = [];
  let n = 0;
  const ctx: TestContext = {
    service, unit: unitByName(loaded, unitName), replica: `${unitName}-1`, db,
    logger: pino({ level: 'silent' }), metrics: new Registry(), signal: abort.signal,
    config: { ...opts.config },
    published, broadcasts,
    async publish<T>(t: Topic<T>, message: T) {
      published.push({ topic: t.name, message: t.schema.parse(message) });
      return `m${++n}`;
    },
    async publishMany<T>(t: Topic<T>, messages: readonly T[]) {
      return messages.map((m) => { published.push({ topic: t.name, message: t.schema.parse(m) }); return `m${++n}`; });
    },
    async broadcast<T>(t: Topic<T>, message: T) {
      broadcasts.push({ topic: t.name, message: t.schema.parse(message) });
    },
    async close() {
      abort.abort();
      await db.end();
    },
  };
  return ctx;
}
