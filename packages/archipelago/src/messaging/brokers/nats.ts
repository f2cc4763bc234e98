// The `nats` broker: one JetStream stream per service (interest retention) with a durable pull
// consumer per subscription (nats-consumer.ts); core NATS subjects for broadcasts; an outbox table
// in PostgreSQL, relayed to JetStream in order, for `{ tx }` publishes (nats-outbox.ts); dead
// letters in the PostgreSQL table the postgres broker uses too (dead-letters.ts).
import {
  AckPolicy, connect, DeliverPolicy, nanos, RetentionPolicy, StorageType,
  type JetStreamClient, type JetStreamManager, type MsgHdrs, type NatsConnection,
} from 'nats';
import type pg from 'pg';
import type { Queryable } from '../../database/pool.js';
import { createPool, transaction } from '../../database/pool.js';
import type { Broker, ConsumerHandle, MessageHeaders, OutgoingMessage, SubscriptionSpec, SubscriptionStats } from '../broker.js';
import { brokerErrors, defaultHolder, encodeBroadcast, once, Unrouted, type BroadcastEnvelope } from '../common.js';
import type { Warn } from '../consumer.js';
import { deadLetter, deadLetterStore, type DeadLetterRow } from './dead-letters.js';
import { ackWaitMs, consumeJetStream } from './nats-consumer.js';
import { H_PUBLISHED, jc, messageHeadersFor } from './nats-headers.js';
import { startOutboxRelay, type OutboxRelay } from './nats-outbox.js';
import { jetStreamPublisher, type Publisher } from './nats-publisher.js';
import * as sql from './nats-sql.js';
import { durableName } from '../names.js';

export interface NatsBrokerOptions {
  readonly url: string;
  /** Stream name; also the prefix of every subject the broker uses. */
  readonly stream: string;
  /** The service's database: outbox and dead letters. */
  readonly databaseUrl: string;
  readonly pool?: pg.Pool;
  readonly warn?: Warn;
  readonly holder?: string;
}

const PUBLISH_WINDOW = 1000;
const PUBLISH_TIMEOUT_MS = 30_000;
const INTEREST_REFRESH_MS = 2000;
export { NATS_ACK_WAIT_MS } from './nats-consumer.js';

export { durableName } from '../names.js';

/** The direct-get API the client has but does not export a type for. */
interface DirectGet { getMessage(stream: string, q: { seq: number; next_by_subj: string }): Promise<{ header?: MsgHdrs; time: Date }> }

interface Described { topic: string; unit: string; subscription: string }

/** One message to publish; `topic` when the batch does not share one. */
interface PublishItem { topic?: string; id: string; payload: unknown; publishedAt: Date; headers?: MessageHeaders; only?: string }

export function createNatsBroker(opts: NatsBrokerOptions): Broker {
  const warn: Warn = opts.warn ?? (() => {});
  const holder = opts.holder ?? defaultHolder();
  const unrouted = new Unrouted((m) => warn(m));
  // Topics with at least one consumer, re-read at most every INTEREST_REFRESH_MS when a publish
  // names a topic not in it: interest retention keeps nothing for a topic without one.
  let interest = new Set<string>();
  let interestReadAt = 0;
  const hasInterest = async (topic: string) => {
    if (interest.has(topic) || Date.now() - interestReadAt < INTEREST_REFRESH_MS) return interest.has(topic);
    interestReadAt = Date.now();
    interest = new Set((await broker.listSubscriptions()).map((r) => r.topic));
    return interest.has(topic);
  };
  const stream = opts.stream;
  const topicSubject = (topic: string) => `${stream}.t.${topic}`;
  const broadcastSubject = (topic: string) => `${stream}.b.${topic}`;
  const pool = opts.pool ?? createPool(opts.databaseUrl, { max: 5, application: 'archipelago-broker' });
  const consumers = new Set<ConsumerHandle>();
  let nc: NatsConnection | undefined;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let publisher: Publisher;
  let relay: OutboxRelay | undefined;
  let closed = false;
  let initialised: Promise<void> | undefined;

  const live = () => { if (closed) throw brokerErrors.closed(); };

  const init = () => (initialised ??= (async () => {
    try {
      // No async traces: each request would otherwise capture a stack, a large share of publish CPU.
      nc = await connect({ servers: opts.url, maxReconnectAttempts: -1, reconnectTimeWait: 1000, name: `archipelago-${stream}`, noAsyncTraces: true });
    } catch (e) {
      throw brokerErrors.unavailable(`NATS at ${opts.url}`, e);
    }
    jsm = await nc.jetstreamManager();
    js = nc.jetstream();
    publisher = jetStreamPublisher(nc);
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add({
        name: stream, subjects: [`${stream}.t.>`], retention: RetentionPolicy.Interest, storage: StorageType.File,
        allow_direct: true, duplicate_window: nanos(120_000),
      }).catch(async (e: unknown) => { await jsm.streams.info(stream).catch(() => { throw e; }); });
    }
    const c = await pool.connect().catch((e: unknown) => { throw brokerErrors.unavailable('the outbox database', e); });
    try {
      await c.query('BEGIN'); await c.query(sql.INIT); await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {}); throw e;
    } finally { c.release(); }
    relay = await startOutboxRelay({ pool, databaseUrl: opts.databaseUrl, warn, publishAll });
  })().catch((e: unknown) => { initialised = undefined; void nc?.close(); nc = undefined; throw e; }));

  /**
   * Publishes in order with a window of unacknowledged publishes; resolves when all are stored.
   * `topic` names the topic of every item when they share one (a plain publish).
   */
  const publishAll = async (items: readonly PublishItem[], topic?: string) => {
    const subject = topic === undefined ? undefined : topicSubject(topic);
    for (let i = 0; i < items.length; i += PUBLISH_WINDOW) {
      await publisher.publish(items.slice(i, i + PUBLISH_WINDOW).map((m) => {
        const t = topic ?? m.topic!;
        // A replay's id is new to JetStream's deduplication window, or the copy would be dropped.
        const msgId = m.only ? `${m.id}:${m.only}:${Date.now()}` : m.id;
        return { subject: subject ?? topicSubject(t), data: jc.encode(m.payload ?? null), headers: messageHeadersFor(t, m, m.only, msgId) };
      }), PUBLISH_TIMEOUT_MS);
    }
  };

  const info = async (subscription: string) => {
    await init();
    try {
      return await jsm.consumers.info(stream, durableName(subscription));
    } catch (e) {
      if (/consumer not found/i.test(String((e as Error).message))) throw brokerErrors.unknownSubscription(subscription);
      throw brokerErrors.failed('reading the JetStream consumer', e);
    }
  };
  const described = (desc: string | undefined): Described => JSON.parse(desc ?? '{}') as Described;

  const broker: Broker = {
    kind: 'nats',
    holder,
    async init() { live(); await init(); },
    // JetStream cannot take back another connection's deliveries; a gone holder's messages return
    // when their short, heartbeat-renewed ack wait lapses (see consume), so there is nothing to do.
    async releaseHolder() { live(); return 0; },
    async ensureSubscription(spec) {
      live();
      await init();
      const name = durableName(spec.name);
      const description = JSON.stringify({ topic: spec.topic, unit: spec.unit, subscription: spec.name } satisfies Described);
      const mutable = { ack_wait: nanos(ackWaitMs(spec)), max_ack_pending: 20_000, description };
      const existing = await jsm.consumers.info(stream, name).catch(() => undefined);
      if (existing) await jsm.consumers.update(stream, name, mutable);
      else {
        await jsm.consumers.add(stream, {
          durable_name: name, filter_subject: topicSubject(spec.topic), ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New, max_deliver: -1, ...mutable,
        });
      }
      interest.add(spec.topic);
    },
    async listSubscriptions() {
      live();
      await init();
      const out: { name: string; topic: string; unit: string }[] = [];
      for await (const ci of jsm.consumers.list(stream)) {
        const d = described(ci.config.description);
        if (d.subscription) out.push({ name: d.subscription, topic: d.topic, unit: d.unit });
      }
      interest = new Set(out.map((r) => r.topic));
      interestReadAt = Date.now();
      return out.sort((a, b) => a.name.localeCompare(b.name));
    },
    async removeSubscription(name) {
      live();
      await info(name);
      await jsm.consumers.delete(stream, durableName(name));
      await pool.query(sql.DEAD_PURGE, [name, null]);
      await pool.query(sql.RELEASES_FORGET_ALL, [name]);
      interestReadAt = 0;
    },
    unrouted: () => unrouted.map,
    async publish(topic: string, messages: readonly OutgoingMessage[], o: { tx?: Queryable } = {}) {
      live();
      await init();
      if (messages.length && !(await hasInterest(topic))) unrouted.note(topic, messages.length);
      if (o.tx) {
        for (let i = 0; i < messages.length; i += 5000) {
          const chunk = messages.slice(i, i + 5000);
          await o.tx.query(sql.OUTBOX_INSERT, [topic, chunk.map((m) => m.id), chunk.map((m) => JSON.stringify(m.payload ?? null)), chunk.map((m) => m.publishedAt.toISOString()),
            chunk.map((m) => (m.headers ? JSON.stringify(m.headers) : null))]);
        }
        return;
      }
      try {
        await publishAll(messages, topic);
      } catch (e) {
        throw brokerErrors.failed(`publishing to topic "${topic}"`, e);
      }
    },
    async consume(spec: SubscriptionSpec, handler) {
      live();
      await info(spec.name);
      return consumeJetStream({ js, stream, pool, warn, consumers, flush: async () => { await nc?.flush(); } }, spec, handler);
    },
    async broadcast(topic, payload, headers) {
      live();
      await init();
      nc!.publish(broadcastSubject(topic), new TextEncoder().encode(encodeBroadcast(topic, payload, headers)));
      await nc!.flush();
    },
    async onBroadcast(topic, handler) {
      live();
      await init();
      const sub = nc!.subscribe(broadcastSubject(topic), {
        callback: (err, m) => {
          if (err) return warn(`broadcast subscription on topic "${topic}" failed`, err);
          try { const b = JSON.parse(new TextDecoder().decode(m.data)) as BroadcastEnvelope; handler(b.p, b.h); } catch (e) { warn(`broadcast handler on topic "${topic}" failed`, e); }
        },
      });
      await nc!.flush();
      return async () => { sub.unsubscribe(); };
    },
    async stats(subscription): Promise<SubscriptionStats> {
      live();
      const ci = await info(subscription);
      const topic = described(ci.config.description).topic ?? ci.config.filter_subject?.slice(`${stream}.t.`.length) ?? '';
      const backlog = ci.num_pending + ci.num_ack_pending;
      let oldestAgeMs: number | null = null;
      if (backlog > 0) {
        try {
          const sm = await (jsm as JetStreamManager & { direct: DirectGet }).direct.getMessage(stream, { seq: ci.ack_floor.stream_seq + 1, next_by_subj: topicSubject(topic) });
          const at = sm.header?.get(H_PUBLISHED);
          oldestAgeMs = Math.max(0, Date.now() - (at ? Date.parse(at) : sm.time.getTime()));
        } catch {
          oldestAgeMs = 0;
        }
      }
      const dead = (await pool.query<{ n: number }>(sql.DEAD_COUNT, [subscription])).rows[0]!.n;
      return { subscription, topic, backlog, oldestAgeMs, deadLetters: dead };
    },
    deadLetters: deadLetterStore({
      query: (text, values) => pool.query(text, values),
      check: async (subscription) => { live(); await info(subscription); },
      replay: (subscription, ids) => transaction(pool, async (c) => {
        const rows = (await c.query<DeadLetterRow>(sql.DEAD_TAKE, [subscription, ids ?? null])).rows.map(deadLetter);
        await publishAll(rows.map((d) => ({ topic: d.topic, id: d.id, payload: d.payload, publishedAt: d.publishedAt, only: subscription })));
        await c.query(sql.DEAD_DELETE, [subscription, rows.map((d) => d.id)]);
        return rows.length;
      }),
    }),
    close: once(async () => {
      closed = true;
      const steps: (() => Promise<unknown>)[] = [
        ...[...consumers].map((c) => () => c.stop(0)),
        async () => relay?.stop(),
        async () => { if (nc) { await nc.drain().catch(() => nc?.close()); } },
        () => (opts.pool ? Promise.resolve() : pool.end()),
      ];
      for (const step of steps) await Promise.resolve().then(step).catch((e: unknown) => warn('closing the broker: a step failed', e));
    }),
  };
  return broker;
}
