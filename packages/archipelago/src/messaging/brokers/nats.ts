// The `nats` broker: one JetStream stream per service (interest retention) with a durable pull
// consumer per subscription; core NATS subjects for broadcasts; an outbox table in PostgreSQL,
// relayed to JetStream in order, for `{ tx }` publishes; dead letters in a PostgreSQL table.
import {
  AckPolicy, connect, DeliverPolicy, headers as natsHeaders, JSONCodec, nanos, RetentionPolicy, StorageType,
  type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, type MsgHdrs, type NatsConnection,
} from 'nats';
import type pg from 'pg';
import type { Queryable } from '../../database/pool.js';
import { createPool, transaction } from '../../database/pool.js';
import type { Broker, ConsumerHandle, DeadLetter, MessageHeaders, OutgoingMessage, SubscriptionSpec, SubscriptionStats } from '../broker.js';
import { afterFailure, Bell, brokerErrors, defaultHolder, deliveryTimes, encodeBroadcast, leaseMs, once, sleep, Unrouted, type BroadcastEnvelope } from '../common.js';
import { runConsumer, type Warn } from '../consumer.js';
import { PgListener } from './pg-listener.js';
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

const jc = JSONCodec();
const H_ID = 'Arch-Id';
const H_PUBLISHED = 'Arch-Published-At';
const H_TOPIC = 'Arch-Topic';
/** Set on a dead letter replayed to one subscription: the topic's other subscriptions skip it. */
const H_ONLY = 'Arch-Only-For';
const RELAY_BATCH = 1000;
const PUBLISH_WINDOW = 1000;
const PUBLISH_TIMEOUT_MS = 30_000;
/** JetStream's ack wait: how long a dead replica's message stays taken. Live holders renew it. */
export const NATS_ACK_WAIT_MS = 5000;
const INTEREST_REFRESH_MS = 2000;
const ackWaitMs = (spec: SubscriptionSpec) => Math.min(NATS_ACK_WAIT_MS, leaseMs(spec));
/** A pull request's life on the server (the client's minimum is 1 s). */
const PULL_EXPIRES_MS = 1000;

export { durableName } from '../names.js';

/** The direct-get API the client has but does not export a type for. */
interface DirectGet { getMessage(stream: string, q: { seq: number; next_by_subj: string }): Promise<{ header?: MsgHdrs; time: Date }> }

interface Described { topic: string; unit: string; subscription: string }

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
  const listener = new PgListener(opts.databaseUrl, warn);
  const consumers = new Set<ConsumerHandle>();
  const relayBell = new Bell();
  const stopRelay = new AbortController();
  let nc: NatsConnection | undefined;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let relay: Promise<void> | undefined;
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
    await listener.listen(sql.OUTBOX_CHANNEL, () => relayBell.ring(), () => relayBell.ring());
    relay = relayLoop();
  })().catch((e: unknown) => { initialised = undefined; void nc?.close(); nc = undefined; throw e; }));

  const hdrs = (topic: string, m: { id: string; publishedAt: Date; headers?: MessageHeaders }, only?: string): MsgHdrs => {
    const h = natsHeaders();
    h.set(H_ID, m.id); h.set(H_PUBLISHED, m.publishedAt.toISOString()); h.set(H_TOPIC, topic);
    if (only) h.set(H_ONLY, only);
    for (const [k, v] of Object.entries(m.headers ?? {})) h.set(k, v);
    return h;
  };
  /** Publishes in order with a window of unacknowledged publishes; resolves when all are stored. */
  const publishAll = async (items: { topic: string; id: string; payload: unknown; publishedAt: Date; headers?: MessageHeaders; only?: string }[]) => {
    for (let i = 0; i < items.length; i += PUBLISH_WINDOW) {
      await Promise.all(items.slice(i, i + PUBLISH_WINDOW).map((m) =>
        js.publish(topicSubject(m.topic), jc.encode(m.payload ?? null), {
          msgID: m.only ? `${m.id}:${m.only}:${Date.now()}` : m.id, headers: hdrs(m.topic, m, m.only), timeout: PUBLISH_TIMEOUT_MS,
        })));
    }
  };

  // One relay per database holds the advisory lock inside its transaction: order is kept, rows are
  // deleted only after JetStream acknowledged them, and a crash re-sends (deduplicated by msgID).
  const relayOnce = (): Promise<number> => transaction(pool, async (c) => {
    if (!(await c.query<{ locked: boolean }>(sql.RELAY_TRY_LOCK)).rows[0]!.locked) return 0;
    const rows = (await c.query<{ seq: string; topic: string; id: string; payload: unknown; published_at: Date; headers: Record<string, string> | null }>(sql.OUTBOX_BATCH, [RELAY_BATCH])).rows;
    if (rows.length) {
      await publishAll(rows.map((r) => ({ topic: r.topic, id: r.id, payload: r.payload, publishedAt: r.published_at, ...(r.headers ? { headers: r.headers } : {}) })));
      await c.query(sql.OUTBOX_DELETE, [rows.map((r) => r.seq)]);
    }
    return rows.length;
  });
  const relayLoop = async () => {
    while (!stopRelay.signal.aborted) {
      try {
        const n = await relayOnce();
        if (n < RELAY_BATCH) await relayBell.wait(1000, stopRelay.signal);
      } catch (e) {
        if (stopRelay.signal.aborted) break;
        warn('relaying the outbox to JetStream failed; retrying in 1s', e);
        await sleep(1000, stopRelay.signal);
      }
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
        await publishAll(messages.map((m) => ({ topic, ...m })));
      } catch (e) {
        throw brokerErrors.failed(`publishing to topic "${topic}"`, e);
      }
    },
    async consume(spec: SubscriptionSpec, handler) {
      live();
      await info(spec.name);
      const consumer = await js.consumers.get(stream, durableName(spec.name));
      const { leaseMs: lease } = deliveryTimes(spec);
      const buffer: JsMsg[] = [];
      const bell = new Bell();
      /** Every message this replica holds un-acked (buffered or running), with when it arrived. */
      const since = new Map<JsMsg, number>();
      /** Releases to subtract from JetStream's delivery count: a release is not an attempt. */
      const released = new Map<JsMsg, number>();
      let pulling: Promise<void> | undefined;
      let stopped = false;
      // One pull at a time, for no more than the free slots when it was sent: un-acked messages per
      // replica never exceed `concurrency`, so none waits in a local buffer past its ack wait.
      const pull = (max: number) => (pulling ??= (async () => {
        try {
          const iter: ConsumerMessages = await consumer.fetch({ max_messages: max, expires: PULL_EXPIRES_MS });
          for await (const m of iter) {
            if (stopped) { void giveBack([m]); continue; }
            const only = m.headers?.get(H_ONLY);
            if (only && only !== spec.name) { m.ack(); continue; }
            since.set(m, Date.now());
            buffer.push(m);
            bell.ring();
          }
        } catch (e) {
          if (!stopped) { warn(`subscription "${spec.name}": pulling from JetStream failed; retrying in 1s`, e); await sleep(1000); }
        } finally {
          pulling = undefined;
          bell.ring();
        }
      })());
      // A short ack wait, renewed while the handler runs (up to the lease): a replica that dies
      // stops renewing, and its messages return within NATS_ACK_WAIT_MS.
      const heartbeat = setInterval(() => {
        const now = Date.now();
        for (const [m, at] of since) if (now - at < lease) m.working();
      }, Math.round(ackWaitMs(spec) / 4));
      heartbeat.unref();
      const forget = (m: JsMsg) => {
        since.delete(m);
        if (released.delete(m)) void pool.query(sql.RELEASES_FORGET, [spec.name, describe(m).id]).catch(() => {});
      };
      const giveBack = async (ms: JsMsg[]) => {
        if (!ms.length) return;
        await pool.query(sql.RELEASES_ADD, [spec.name, [...new Set(ms.map((m) => describe(m).id))]])
          .catch((e: unknown) => warn(`subscription "${spec.name}": recording released messages failed; their redelivery counts as an attempt`, e));
        for (const m of ms) { since.delete(m); released.delete(m); m.nak(); }
      };
      const stopPulling = once(async () => {
        stopped = true;
        // A pull request cannot be taken back: what the server still sends for it would count as
        // delivered to nobody (an attempt, after the ack wait). So let it run out (PULL_EXPIRES_MS)
        // and give back whatever it brings.
        await pulling;
        await giveBack(buffer.splice(0));
      });
      const handle = runConsumer<JsMsg>(spec, {
        async fetch(max, signal) {
          if (!buffer.length && !pulling && !stopped) void pull(max);
          if (!buffer.length) await bell.wait(1000, signal);
          const got = buffer.splice(0, max);
          const again = got.filter((m) => m.info.redeliveryCount > 1);
          if (again.length) {
            const rows = (await pool.query<{ id: string; n: number }>(sql.RELEASES_READ, [spec.name, again.map((m) => describe(m).id)])).rows;
            const n = new Map(rows.map((r) => [r.id, r.n]));
            for (const m of again) { const k = n.get(describe(m).id); if (k) released.set(m, k); }
          }
          return got;
        },
        delivery: (m) => ({ ...describe(m), attempt: attemptOf(m), subscription: spec.name }),
        async settle(m, outcome) {
          // A plain ack, as raw JetStream consumers use: a lost ack only means a redelivery.
          if (outcome.ok) { m.ack(); forget(m); return; }
          const attempt = attemptOf(m);
          const next = afterFailure(spec, attempt, outcome.dead);
          if (!next.dead) { since.delete(m); m.nak(next.delayMs); return; }
          const del = describe(m);
          await pool.query(sql.DEAD_INSERT, [spec.name, del.id, del.topic, JSON.stringify(del.payload ?? null), outcome.error, attempt, del.publishedAt.toISOString()]);
          m.term();
          forget(m);
        },
        // Pulling stops before anything is given back, so a released message is not handed to
        // this consumer's own last pull request.
        async release(ms) { await stopPulling(); await giveBack(ms); },
        async closed() {
          await stopPulling();
          clearInterval(heartbeat);
          // Acks are sent without waiting; a drained consumer has settled only once the server has them.
          await nc?.flush();
          consumers.delete(handle);
        },
      }, handler, warn);
      function attemptOf(m: JsMsg) { return Math.max(1, m.info.redeliveryCount - (released.get(m) ?? 0)); }
      function describe(m: JsMsg) {
        const h = m.headers;
        const headers = messageHeaders(h);
        return {
          id: h?.get(H_ID) || String(m.seq), topic: h?.get(H_TOPIC) || spec.topic, payload: jc.decode(m.data), publishedAt: new Date(h?.get(H_PUBLISHED) || m.info.timestampNanos / 1e6),
          ...(headers ? { headers } : {}),
        };
      }
      consumers.add(handle);
      return handle;
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
    deadLetters: {
      async list(subscription, o = {}) {
        live(); await info(subscription);
        return (await pool.query(sql.DEAD_LIST, [subscription, o.limit ?? 100])).rows.map(deadLetter);
      },
      async get(subscription, id) {
        live(); await info(subscription);
        const r = (await pool.query(sql.DEAD_GET, [subscription, id])).rows[0];
        return r && deadLetter(r);
      },
      async replay(subscription, ids) {
        live(); await info(subscription);
        return transaction(pool, async (c) => {
          const rows = (await c.query(sql.DEAD_TAKE, [subscription, ids ?? null])).rows.map(deadLetter);
          await publishAll(rows.map((d) => ({ topic: d.topic, id: d.id, payload: d.payload, publishedAt: d.publishedAt, only: subscription })));
          await c.query(sql.DEAD_DELETE, [subscription, rows.map((d) => d.id)]);
          return rows.length;
        });
      },
      async purge(subscription, ids) {
        live(); await info(subscription);
        return (await pool.query<{ n: number }>(sql.DEAD_PURGE, [subscription, ids ?? null])).rows[0]!.n;
      },
    },
    close: once(async () => {
      closed = true;
      stopRelay.abort();
      const steps: (() => Promise<unknown>)[] = [
        ...[...consumers].map((c) => () => c.stop(0)),
        async () => relay,
        () => listener.close(),
        async () => { if (nc) { await nc.drain().catch(() => nc?.close()); } },
        () => (opts.pool ? Promise.resolve() : pool.end()),
      ];
      for (const step of steps) await Promise.resolve().then(step).catch((e: unknown) => warn('closing the broker: a step failed', e));
    }),
  };
  return broker;
}

/** The message's own headers: every NATS header but the broker's `Arch-*` bookkeeping. */
function messageHeaders(h: MsgHdrs | undefined): Record<string, string> | undefined {
  if (!h) return undefined;
  let out: Record<string, string> | undefined;
  for (const k of h.keys()) if (!k.startsWith('Arch-')) (out ??= {})[k] = h.get(k);
  return out;
}

function deadLetter(r: { id: string; subscription: string; topic: string; payload: unknown; error: string; attempts: number; published_at: Date; failed_at: Date }): DeadLetter {
  return { id: r.id, subscription: r.subscription, topic: r.topic, payload: r.payload, error: r.error, attempts: r.attempts, publishedAt: r.published_at, failedAt: r.failed_at };
}
