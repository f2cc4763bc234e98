// Testing helpers for services (`archipelago-toolkit/testing`): run a worker's handlers in-process on the
// in-memory broker, publish, and wait until every subscription on the topic has handled the message;
// build an api unit's app for `inject()`; a unit's context with recorded publishes; a unit's real host
// in-process; raw HTTP requests.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createMemoryBroker, type MemoryBroker } from '../messaging/brokers/memory.js';
import type { ConsumerHandle, DeadLetter } from '../messaging/broker.js';
import type { Messaging } from '../messaging/messaging.js';
import { createMessaging } from '../messaging/runtime.js';
import type { Topic } from '../messaging/topic.js';
import type { FastifyInstance } from 'fastify';
import type { ResolvedListening, ResolvedService, ResolvedUnit } from '../service/types.js';
import type { ApiDefinition, SubscriptionDefinition, UnitContext, WorkerDefinition } from '../units/define.js';
import { createBareApp } from '../units/http.js';

export interface TestBusOptions {
  /** Unit name the subscriptions belong to. Default `test`. */
  unit?: string;
  /** Database handed to handlers as `ctx.db`. */
  db?: pg.Pool;
  config?: Record<string, string | undefined>;
  /** How long `publishAndWait` waits for handlers. Default 5 s. */
  timeoutMs?: number;
}

export interface TestBus {
  readonly broker: MemoryBroker;
  readonly messaging: Messaging;
  /** The context handlers receive; its `publish` goes to this bus. */
  readonly ctx: UnitContext;
  /** Starts a worker's subscriptions (and broadcasts) in this process. */
  run(worker: WorkerDefinition | readonly SubscriptionDefinition[]): Promise<void>;
  publish<T>(topic: Topic<T>, message: T): Promise<string>;
  /**
   * Publishes and resolves once every running subscription on the topic has handled the message;
   * rejects with the handler's error if one fails (it is still retried per its options).
   */
  publishAndWait<T>(topic: Topic<T>, message: T): Promise<string>;
  deadLetters(subscription: string): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

export class HandlerError extends Error {
  constructor(readonly subscription: string, readonly messageId: string, override readonly cause: unknown) {
    super(`subscription "${subscription}" failed on message ${messageId}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'HandlerError';
  }
}

export function createTestBus(opts: TestBusOptions = {}): TestBus {
  const unit = opts.unit ?? 'test';
  const broker = createMemoryBroker();
  const logger = pino({ level: 'silent' });
  const messaging = createMessaging(broker, { unit, logger });
  const abort = new AbortController();
  const handles: ConsumerHandle[] = [];
  const offs: (() => Promise<void>)[] = [];
  const running: SubscriptionDefinition[] = [];
  // Per message id and subscription: the callbacks of a pending publishAndWait.
  const waiters = new Map<string, Map<string, { ok: () => void; fail: (e: unknown) => void }>>();
  const settle = (id: string, subscription: string, error?: unknown) => {
    const w = waiters.get(id)?.get(subscription);
    if (!w) return;
    waiters.get(id)!.delete(subscription);
    if (error === undefined) w.ok(); else w.fail(new HandlerError(subscription, id, error));
  };

  const ctx: UnitContext = {
    service: { name: 'test', root: process.cwd(), configPath: '', broker: { kind: 'postgres' }, migrationsDir: '', units: [] } as ResolvedService,
    unit: { name: unit, kind: 'worker' } as ResolvedUnit,
    replica: `${unit}-1`,
    db: opts.db ?? (undefined as unknown as pg.Pool),
    logger, metrics: new Registry(), signal: abort.signal, config: opts.config ?? {},
    publish: (t, m, o) => messaging.publish(t, m, o),
    publishMany: (t, ms, o) => messaging.publishMany(t, ms, o),
    broadcast: (t, m) => messaging.broadcast(t, m),
  };

  const bus: TestBus = {
    broker, messaging, ctx,
    async run(worker) {
      const defs = Array.isArray(worker) ? worker as readonly SubscriptionDefinition[] : (worker as WorkerDefinition).subscriptions;
      const wrapped = defs.map((def): SubscriptionDefinition => ({
        ...def,
        handler: async (d, c) => {
          try {
            await def.handler(d, c);
          } catch (e) {
            settle(d.id, def.name, e);
            throw e;
          }
          settle(d.id, def.name);
        },
      }));
      if (!Array.isArray(worker)) {
        const w = worker as WorkerDefinition;
        await w.setup?.(ctx);
        if (w.broadcasts.length) offs.push(await messaging.startBroadcasts(w.broadcasts, ctx));
      }
      handles.push(await messaging.startSubscriptions(wrapped, ctx));
      running.push(...defs);
    },
    publish: (t, m) => messaging.publish(t, m),
    async publishAndWait<T>(t: Topic<T>, message: T) {
      const id = randomUUID();
      const subs = running.filter((d) => d.topic.name === t.name);
      const pending = new Map<string, { ok: () => void; fail: (e: unknown) => void }>();
      waiters.set(id, pending);
      const done = Promise.all(subs.map((s) => new Promise<void>((ok, fail) => pending.set(s.name, { ok, fail }))));
      let timer: NodeJS.Timeout | undefined;
      try {
        await messaging.publish(t, message, { id });
        await Promise.race([done, new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`message ${id} on topic "${t.name}" was not handled by ${[...pending.keys()].join(', ')} within ${opts.timeoutMs ?? 5000} ms`)), opts.timeoutMs ?? 5000);
        })]);
        return id;
      } finally {
        clearTimeout(timer);
        waiters.delete(id);
      }
    },
    deadLetters: (s) => broker.deadLetters.list(s),
    async close() {
      abort.abort();
      for (const h of handles.splice(0)) await h.stop(1000);
      for (const off of offs.splice(0)) await off();
      await messaging.close();
      await broker.close();
    },
  };
  return bus;
}

export { createMemoryBroker, type MemoryBroker } from '../messaging/brokers/memory.js';
export { startTestDatabase, type TestDatabase, type TestDatabaseOptions } from './test-database.js';
export { createTestContext, type TestContext, type TestContextOptions, type Recorded } from './test-context.js';
export { startUnitHost, type UnitHost, type UnitHostOptions } from './unit-host.js';
export { rawRequest, type RawResponse } from './raw-http.js';
/** The real postgres broker, for a test of how a unit's code and the broker's own setup interact. */
export { createPostgresBroker } from '../messaging/brokers/postgres.js';

/**
 * An api unit's Fastify app as its host builds it (strict validation unless the unit opts out,
 * its trusted proxies, the JSON error shape at the root), with the definition's routes, not
 * listening: for `app.inject()`. `ctx.unit` is the api unit it is built for.
 */
export async function apiApp(def: ApiDefinition, ctx: UnitContext): Promise<FastifyInstance> {
  const unit = ctx.unit as Partial<ResolvedListening>;
  const app = createBareApp({ trustProxy: unit.trustProxy ?? [], validation: unit.validation ?? 'strict' }, { logger: false });
  await def.routes(app, ctx);
  await app.ready();
  return app;
}
