// A unit's context for a test of its handlers or routes: the unit as declared, a real pool on the
// test's database, and publishes and broadcasts recorded (delivering them is another unit's
// concern), each checked against its topic's schema as a broker would.
import pino from 'pino';
import { Registry } from 'prom-client';
import { createPool } from '../database/pool.js';
import type { Topic } from '../messaging/topic.js';
import { unitByName } from '../service/load.js';
import type { ResolvedService } from '../service/types.js';
import type { UnitContext } from '../units/define.js';

export interface Recorded { readonly topic: string; readonly message: unknown }

export interface TestContext extends UnitContext {
  readonly published: Recorded[];
  readonly broadcasts: Recorded[];
  close(): Promise<void>;
}

export interface TestContextOptions {
  service: ResolvedService;
  unit: string;
  databaseUrl: string;
  /** What `ctx.config` holds (the unit's declared env and secrets as the test sets them). */
  config?: Record<string, string>;
  /** Overrides the service's root folder (where a file outbox or state would go). */
  root?: string;
  /** Pool size; default 5. */
  poolSize?: number;
}

export function createTestContext(opts: TestContextOptions): TestContext {
  const service = opts.root ? { ...opts.service, root: opts.root } : opts.service;
  const db = createPool(opts.databaseUrl, { max: opts.poolSize ?? 5, application: `test-${opts.unit}` });
  const abort = new AbortController();
  const published: Recorded[] = [];
  const broadcasts: Recorded[] = [];
  let n = 0;
  return {
    service, unit: unitByName(opts.service, opts.unit), replica: `${opts.unit}-1`, db,
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
}
