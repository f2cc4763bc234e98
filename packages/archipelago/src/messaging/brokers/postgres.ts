// The `postgres` broker: queue tables in the service's own database (see postgres-sql.ts), claimed
// with FOR UPDATE SKIP LOCKED under a lease, woken by LISTEN/NOTIFY; broadcasts over NOTIFY.
import pg from 'pg';
import { createPool, transaction, type Queryable } from '../../database/pool.js';
import type { Broker, ConsumerHandle, OutgoingMessage, SubscriptionSpec, SubscriptionStats } from '../broker.js';
import { deadLetterStore } from './dead-letters.js';
import { afterFailure, Bell, brokerErrors, defaultHolder, encodeBroadcast, leaseMs, once, sleep, Unrouted, type BroadcastEnvelope } from '../common.js';
import { runConsumer, type Warn } from '../consumer.js';
import { PgListener } from './pg-listener.js';
import * as sql from './postgres-sql.js';

export interface PostgresBrokerOptions {
  readonly databaseUrl: string;
  /** A pool to share (not closed by the broker); one is made from `databaseUrl` otherwise. */
  readonly pool?: pg.Pool;
  readonly warn?: Warn;
  /** Names this process on the leases it takes (see Broker.holder). */
  readonly holder?: string;
}

interface Claimed { id: string; topic: string; payload: unknown; attempt: number; published_at: Date; headers: Record<string, string> | null }

/** Rows per INSERT: keeps a statement's parameters small while a fan-out of 100,000s takes few round trips. */
const PUBLISH_CHUNK = 5000;

/** Names a process's claim sessions after its lease holder, so that releaseHolder can find them. */
const consumerApplication = (holder: string) => `archipelago-consumer ${holder}`;
/** How long releaseHolder waits for a gone process's sessions to end before it releases anyway. */
const SESSIONS_END_MS = 5000;

function makeConsumePool(url: string, holder: string): pg.Pool {
  const p = new pg.Pool({ connectionString: url, max: 4, application_name: consumerApplication(holder), options: '-c synchronous_commit=off' });
  p.on('error', () => {});
  return p;
}

export function createPostgresBroker(opts: PostgresBrokerOptions): Broker {
  const warn: Warn = opts.warn ?? (() => {});
  const holder = opts.holder ?? defaultHolder();
  const unrouted = new Unrouted((m) => warn(m));
  const pool = opts.pool ?? createPool(opts.databaseUrl, { max: 10, application: 'archipelago-broker' });
  // Claims, acks and retries may skip the WAL flush: losing one in a crash only means a redelivery,
  // which at-least-once allows. Publishes use `pool` and stay durable once they resolve.
  let consumePool: pg.Pool | undefined;
  const settlePool = () => (consumePool ??= makeConsumePool(opts.databaseUrl, holder));
  const listener = new PgListener(opts.databaseUrl, warn);
  const bells = new Map<string, Set<Bell>>();
  const consumers = new Set<ConsumerHandle>();
  let closed = false;
  let initialised: Promise<void> | undefined;

  const live = () => { if (closed) throw brokerErrors.closed(); };
  const q = async <R extends pg.QueryResultRow>(text: string, values: unknown[], on: Queryable = pool): Promise<pg.QueryResult<R>> => {
    try {
      return await on.query<R>(text, values);
    } catch (e) {
      if ((e as { code?: string }).code === 'ECONNREFUSED') throw brokerErrors.unavailable('the PostgreSQL broker', e);
      throw e;
    }
  };
  const setUp = async () => {
    if ((await pool.query<{ ready: boolean }>(sql.SCHEMA_READY)).rows[0]?.ready) return;
    await transaction(pool, (c) => c.query(sql.INIT));
  };
  const init = () => (initialised ??= setUp().then(() => {}, (e: unknown) => {
    initialised = undefined;
    // Failing to connect (a socket error, SQLSTATE class 08 connection, 28 authorization, 3D
    // unknown database) means the broker is unavailable; anything else is raised as it is.
    const code = String((e as { code?: string }).code ?? '');
    throw /^E[A-Z]+$/.test(code) || /^(08|28|3D)/.test(code) ? brokerErrors.unavailable('the PostgreSQL broker', e) : e;
  }));
  const exists = async (name: string) => {
    await init();
    if ((await q(sql.SUBSCRIPTION_EXISTS, [name])).rowCount === 0) throw brokerErrors.unknownSubscription(name);
  };
  const ring = (name: string) => { for (const b of bells.get(name) ?? []) b.ring(); };
  const ringAll = () => { for (const name of bells.keys()) ring(name); };

  const broker: Broker = {
    kind: 'postgres',
    holder,
    async init() { live(); await init(); },
    async releaseHolder(h) {
      live();
      await init();
      // A claim the gone process sent just before it died may still wait unread in its server
      // session, and would lease a message to the dead holder after the release. So its claim
      // sessions are ended first, and the release waits (a while) for them to be gone.
      const until = Date.now() + SESSIONS_END_MS;
      try {
        while ((await q<{ n: number }>(sql.END_HOLDER_SESSIONS, [consumerApplication(h)])).rows[0]!.n > 0 && Date.now() < until) await sleep(20);
      } catch (e) {
        warn(`ending the sessions of "${h}" failed; releasing its leases anyway`, e);
      }
      return (await q<{ n: number }>(sql.RELEASE_HOLDER, [h])).rows[0]!.n;
    },
    async ensureSubscription(spec) {
      live();
      await init();
      await q(sql.ENSURE_SUBSCRIPTION, [spec.name, spec.topic, spec.unit, JSON.stringify(spec)]);
    },
    async listSubscriptions() {
      live();
      await init();
      return (await q<{ name: string; topic: string; unit: string }>(sql.LIST_SUBSCRIPTIONS, [])).rows;
    },
    async removeSubscription(name) {
      live();
      await exists(name);
      await q(sql.REMOVE_SUBSCRIPTION, [name]);
    },
    unrouted: () => unrouted.map,
    async publish(topic: string, messages: readonly OutgoingMessage[], o: { tx?: Queryable } = {}) {
      live();
      await init();
      let routed = 0;
      for (let i = 0; i < messages.length; i += PUBLISH_CHUNK) {
        const chunk = messages.slice(i, i + PUBLISH_CHUNK);
        routed += (await q(sql.PUBLISH, [
          topic, chunk.map((m) => m.id), chunk.map((m) => JSON.stringify(m.payload ?? null)), chunk.map((m) => m.publishedAt.toISOString()),
          chunk.map((m) => (m.headers ? JSON.stringify(m.headers) : null)),
        ], o.tx ?? pool)).rowCount ?? 0;
      }
      // Nothing inserted: either every id was a duplicate or no subscription exists; only the latter is a drop.
      if (routed === 0 && messages.length > 0 && (await q(sql.TOPIC_HAS_SUBSCRIPTION, [topic], o.tx ?? pool)).rowCount === 0) unrouted.note(topic, messages.length);
    },
    async consume(spec: SubscriptionSpec, handler) {
      live();
      await exists(spec.name);
      const bell = new Bell();
      let set = bells.get(spec.name);
      if (!set) bells.set(spec.name, (set = new Set()));
      set.add(bell);
      const unlisten = await listener.listen(sql.QUEUE_CHANNEL, (name) => ring(name), ringAll);
      const lease = leaseMs(spec);
      // Acks are batched: whatever finished while the previous DELETE ran goes in the next one.
      let acks: { id: string; done: () => void; fail: (e: unknown) => void }[] = [];
      let flushing = false;
      const flush = async () => {
        if (flushing) return;
        flushing = true;
        while (acks.length) {
          const batch = acks;
          acks = [];
          try {
            await q(sql.ACK, [spec.name, batch.map((a) => a.id)], cp);
            for (const a of batch) a.done();
          } catch (e) {
            for (const a of batch) a.fail(e);
          }
        }
        flushing = false;
      };
      const cp = settlePool();
      const claim = async (max: number) => (await q<Claimed>(sql.CLAIM, [spec.name, max, lease, holder], cp)).rows;
      const handle = runConsumer<Claimed>(spec, {
        async fetch(max, signal) {
          const got = await claim(max);
          if (got.length || signal.aborted) return got;
          const due = (await q<{ ms: number | null }>(sql.NEXT_DUE, [spec.name], cp)).rows[0]?.ms;
          await bell.wait(Math.max(5, Math.min(1000, due ?? 1000)), signal);
          return signal.aborted ? [] : claim(max);
        },
        delivery: (m) => ({ id: m.id, payload: m.payload, attempt: m.attempt, publishedAt: m.published_at, topic: m.topic, subscription: spec.name, ...(m.headers ? { headers: m.headers } : {}) }),
        async settle(m, outcome) {
          if (outcome.ok) {
            await new Promise<void>((done, fail) => { acks.push({ id: m.id, done, fail }); void flush(); });
            return;
          }
          const next = afterFailure(spec, m.attempt, outcome.dead);
          if (next.dead) await q(sql.DEAD, [spec.name, m.id, m.attempt, outcome.error], cp);
          else await q(sql.RETRY, [spec.name, m.id, m.attempt, next.delayMs, outcome.error], cp);
        },
        async release(ms) { await q(sql.RELEASE, [spec.name, ms.map((m) => m.id), ms.map((m) => m.attempt)], cp); },
        async closed() {
          unlisten();
          set.delete(bell);
          consumers.delete(handle);
        },
      }, handler, warn);
      consumers.add(handle);
      return handle;
    },
    async broadcast(topic, payload, headers) {
      live();
      await q(sql.BROADCAST, [encodeBroadcast(topic, payload, headers)]);
    },
    async onBroadcast(topic, handler) {
      live();
      const off = await listener.listen(sql.BROADCAST_CHANNEL, (text) => {
        let msg: BroadcastEnvelope;
        try { msg = JSON.parse(text) as BroadcastEnvelope; } catch { return; }
        if (msg.t === topic) handler(msg.p, msg.h);
      });
      return async () => off();
    },
    async stats(subscription): Promise<SubscriptionStats> {
      live();
      await init();
      const r = (await q<{ topic: string; backlog: number; oldest_age_ms: number | null; dead_letters: number }>(sql.STATS, [subscription])).rows[0];
      if (!r) throw brokerErrors.unknownSubscription(subscription);
      return { subscription, topic: r.topic, backlog: r.backlog, oldestAgeMs: r.oldest_age_ms === null ? null : Math.max(0, Math.round(r.oldest_age_ms)), deadLetters: r.dead_letters };
    },
    deadLetters: deadLetterStore({
      query: (text, values) => q(text, values),
      check: async (subscription) => { live(); await exists(subscription); },
      replay: async (subscription, ids) => (await q<{ n: number }>(sql.DEAD_REPLAY, [subscription, ids ?? null])).rows[0]!.n,
    }),
    close: once(async () => {
      closed = true;
      const steps: (() => Promise<unknown>)[] = [
        ...[...consumers].map((c) => () => c.stop(0)),
        () => listener.close(),
        async () => { await consumePool?.end(); },
        () => (opts.pool ? Promise.resolve() : pool.end()),
      ];
      for (const step of steps) await Promise.resolve().then(step).catch((e: unknown) => warn('closing the broker: a step failed', e));
    }),
  };
  return broker;
}
