// The nats broker's consumer: a durable pull consumer per subscription, pulled for no more than
// the free concurrency slots, with a short ack wait renewed while handlers run, releases recorded so
// that they do not count as attempts, and dead letters written to PostgreSQL.
import type { FetchOptions, JetStreamClient, JsMsg } from 'nats';
import type pg from 'pg';
import type { ConsumerHandle, SubscriptionSpec } from '../broker.js';
import { afterFailure, Bell, deliveryTimes, leaseMs, once, sleep } from '../common.js';
import { runConsumer, type RawHandler, type Warn } from '../consumer.js';
import { durableName } from '../names.js';
import { describeMessage, messageId, readMeta, type MessageMeta } from './nats-headers.js';
import * as sql from './nats-sql.js';

/** JetStream's ack wait: how long a dead replica's message stays taken. Live holders renew it. */
export const NATS_ACK_WAIT_MS = 5000;
export const ackWaitMs = (spec: SubscriptionSpec) => Math.min(NATS_ACK_WAIT_MS, leaseMs(spec));
/** A pull request's life on the server (the client's minimum is 1 s). */
const PULL_EXPIRES_MS = 1000;

export interface JetStreamSide {
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly pool: pg.Pool;
  readonly warn: Warn;
  /** The broker's open consumers, closed with it. */
  readonly consumers: Set<ConsumerHandle>;
  /** Resolves once the server has every ack sent so far. */
  flush(): Promise<void>;
}

/** A message this replica holds un-acked (buffered or running). */
interface Held {
  readonly m: JsMsg;
  /** Its headers, read once on arrival. */
  readonly meta: MessageMeta;
  /** When it arrived: its ack wait is renewed until the lease has passed. */
  readonly at: number;
  /** Releases recorded for it, subtracted from JetStream's delivery count: a release is not an attempt. */
  released: number;
}

export async function consumeJetStream(s: JetStreamSide, spec: SubscriptionSpec, handler: RawHandler): Promise<ConsumerHandle> {
  const consumer = await s.js.consumers.get(s.stream, durableName(spec.name));
  const { leaseMs: lease } = deliveryTimes(spec);
  const buffer: Held[] = [];
  const bell = new Bell();
  /** Every message this replica holds un-acked (buffered or running). */
  const holding = new Set<Held>();
  let pulling: Promise<void> | undefined;
  let stopped = false;
  // One pull at a time, for no more than the free slots when it was sent: un-acked messages per
  // replica never exceed `concurrency`, so none waits in a local buffer past its ack wait.
  const take = (m: JsMsg) => {
    const x: Held = { m, meta: readMeta(m.headers), at: Date.now(), released: 0 };
    if (stopped) { void giveBack([x]); return; }
    if (x.meta.only && x.meta.only !== spec.name) { m.ack(); return; }
    holding.add(x);
    buffer.push(x);
    bell.ring();
  };
  const pull = (max: number) => (pulling ??= (async () => {
    try {
      // A callback rather than the iterator: the client then hands over every message of a socket
      // read at once, before the consume loop wakes, so the loop takes them in one fetch instead of
      // waking once per message (the callback exists on every pull; its type names only consume).
      const iter = await consumer.fetch({ max_messages: max, expires: PULL_EXPIRES_MS, callback: take } as FetchOptions);
      const err = await iter.closed();
      if (err) throw err;
    } catch (e) {
      if (!stopped) { s.warn(`subscription "${spec.name}": pulling from JetStream failed; retrying in 1s`, e); await sleep(1000); }
    } finally {
      pulling = undefined;
      bell.ring();
    }
  })());
  // A short ack wait, renewed while the handler runs (up to the lease): a replica that dies
  // stops renewing, and its messages return within NATS_ACK_WAIT_MS.
  const heartbeat = setInterval(() => {
    const now = Date.now();
    for (const x of holding) if (now - x.at < lease) x.m.working();
  }, Math.round(ackWaitMs(spec) / 4));
  heartbeat.unref();
  // Acks wait for the end of the event-loop turn and go out together: the client writes its
  // outbound buffer once per microtask checkpoint, so acks sent one by one from separate handler
  // completions would each cost a socket write (the larger part of a delivery's CPU). The slot is
  // freed only once the ack is in the client's buffer, as before, so prefetch stays bounded.
  let acks: JsMsg[] = [];
  let acking: Promise<void> | undefined;
  const ack = (m: JsMsg) => {
    acks.push(m);
    return (acking ??= new Promise<void>((resolve) => setImmediate(() => {
      const now = acks;
      acks = []; acking = undefined;
      for (const a of now) a.ack();
      resolve();
    })));
  };
  const forget = (x: Held) => {
    holding.delete(x);
    if (x.released) void s.pool.query(sql.RELEASES_FORGET, [spec.name, messageId(x.m, x.meta)]).catch(() => {});
  };
  const giveBack = async (xs: Held[]) => {
    if (!xs.length) return;
    await s.pool.query(sql.RELEASES_ADD, [spec.name, [...new Set(xs.map((x) => messageId(x.m, x.meta)))]])
      .catch((e: unknown) => s.warn(`subscription "${spec.name}": recording released messages failed; their redelivery counts as an attempt`, e));
    for (const x of xs) { holding.delete(x); x.m.nak(); }
  };
  const stopPulling = once(async () => {
    stopped = true;
    // A pull request cannot be taken back: what the server still sends for it would count as
    // delivered to nobody (an attempt, after the ack wait). So let it run out (PULL_EXPIRES_MS)
    // and give back whatever it brings.
    await pulling;
    await giveBack(buffer.splice(0));
  });
  const handle = runConsumer<Held>(spec, {
    async fetch(max, signal) {
      if (!buffer.length && !pulling && !stopped) void pull(max);
      if (!buffer.length) await bell.wait(1000, signal);
      const got = buffer.splice(0, max);
      const again = got.filter((x) => x.m.info.redeliveryCount > 1);
      if (again.length) {
        const rows = (await s.pool.query<{ id: string; n: number }>(sql.RELEASES_READ, [spec.name, again.map((x) => messageId(x.m, x.meta))])).rows;
        const n = new Map(rows.map((r) => [r.id, r.n]));
        for (const x of again) x.released = n.get(messageId(x.m, x.meta)) ?? 0;
      }
      return got;
    },
    delivery: (x) => {
      const d = describeMessage(x.m, spec.topic, x.meta);
      return { id: d.id, payload: d.payload, publishedAt: d.publishedAt, topic: d.topic, attempt: attemptOf(x), subscription: spec.name, ...(d.headers ? { headers: d.headers } : {}) };
    },
    async settle(x, outcome) {
      // A plain ack, as raw JetStream consumers use: a lost ack only means a redelivery.
      if (outcome.ok) { await ack(x.m); forget(x); return; }
      const attempt = attemptOf(x);
      const next = afterFailure(spec, attempt, outcome.dead);
      if (!next.dead) { holding.delete(x); x.m.nak(next.delayMs); return; }
      const del = describeMessage(x.m, spec.topic, x.meta);
      await s.pool.query(sql.DEAD_INSERT, [spec.name, del.id, del.topic, JSON.stringify(del.payload ?? null), outcome.error, attempt, del.publishedAt.toISOString()]);
      x.m.term();
      forget(x);
    },
    // Pulling stops before anything is given back, so a released message is not handed to
    // this consumer's own last pull request.
    async release(xs) { await stopPulling(); await giveBack(xs); },
    async closed() {
      await stopPulling();
      clearInterval(heartbeat);
      // Acks are sent without waiting; a drained consumer has settled only once the server has them.
      await s.flush();
      s.consumers.delete(handle);
    },
  }, handler, s.warn);
  function attemptOf(x: Held) { return Math.max(1, x.m.info.redeliveryCount - x.released); }
  s.consumers.add(handle);
  return handle;
}
