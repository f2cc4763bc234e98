// The nats broker's consumer: a durable pull consumer per subscription, pulled for no more than
// the free concurrency slots, with a short ack wait renewed while handlers run, releases recorded so
// that they do not count as attempts, and dead letters written to PostgreSQL.
import type { ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import type pg from 'pg';
import type { ConsumerHandle, SubscriptionSpec } from '../broker.js';
import { afterFailure, Bell, deliveryTimes, leaseMs, once, sleep } from '../common.js';
import { runConsumer, type RawHandler, type Warn } from '../consumer.js';
import { durableName } from '../names.js';
import { describeMessage, H_ONLY } from './nats-headers.js';
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

export async function consumeJetStream(s: JetStreamSide, spec: SubscriptionSpec, handler: RawHandler): Promise<ConsumerHandle> {
  const consumer = await s.js.consumers.get(s.stream, durableName(spec.name));
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
    for (const [m, at] of since) if (now - at < lease) m.working();
  }, Math.round(ackWaitMs(spec) / 4));
  heartbeat.unref();
  const forget = (m: JsMsg) => {
    since.delete(m);
    if (released.delete(m)) void s.pool.query(sql.RELEASES_FORGET, [spec.name, describe(m).id]).catch(() => {});
  };
  const giveBack = async (ms: JsMsg[]) => {
    if (!ms.length) return;
    await s.pool.query(sql.RELEASES_ADD, [spec.name, [...new Set(ms.map((m) => describe(m).id))]])
      .catch((e: unknown) => s.warn(`subscription "${spec.name}": recording released messages failed; their redelivery counts as an attempt`, e));
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
        const rows = (await s.pool.query<{ id: string; n: number }>(sql.RELEASES_READ, [spec.name, again.map((m) => describe(m).id)])).rows;
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
      await s.pool.query(sql.DEAD_INSERT, [spec.name, del.id, del.topic, JSON.stringify(del.payload ?? null), outcome.error, attempt, del.publishedAt.toISOString()]);
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
      await s.flush();
      s.consumers.delete(handle);
    },
  }, handler, s.warn);
  function attemptOf(m: JsMsg) { return Math.max(1, m.info.redeliveryCount - (released.get(m) ?? 0)); }
  function describe(m: JsMsg) { return describeMessage(m, spec.topic); }
  s.consumers.add(handle);
  return handle;
}
