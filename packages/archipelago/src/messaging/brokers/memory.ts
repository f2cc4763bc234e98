// An in-memory broker with the same semantics as the durable ones (fan-out, leases, retries,
// dead letters), for the testing helpers and fast unit tests. Nothing survives the process.
import type { Broker, ConsumerHandle, DeadLetter, MessageHeaders, OutgoingMessage, SubscriptionSpec, SubscriptionStats } from '../broker.js';
import { afterFailure, Bell, brokerErrors, encodeBroadcast, leaseMs, once, Unrouted } from '../common.js';
import { runConsumer, type RawHandler, type Warn } from '../consumer.js';

interface Held { id: string; topic: string; payload: unknown; publishedAt: Date; attempt: number; runAt: number; token: number; headers?: MessageHeaders }

interface Queue {
  spec: SubscriptionSpec;
  messages: Map<string, Held>;
  dead: Map<string, DeadLetter>;
  bell: Bell;
}

export interface MemoryBroker extends Broker {
  readonly kind: 'memory';
}

export function createMemoryBroker(opts: { warn?: Warn } = {}): MemoryBroker {
  const warn: Warn = opts.warn ?? (() => {});
  const queues = new Map<string, Queue>();
  const listeners = new Map<string, Set<(payload: unknown, headers?: MessageHeaders) => void>>();
  const consumers = new Set<ConsumerHandle>();
  let closed = false;
  let tokens = 0;
  const unrouted = new Unrouted((m) => warn(m));

  const queue = (name: string) => {
    const q = queues.get(name);
    if (!q) throw brokerErrors.unknownSubscription(name);
    return q;
  };
  const live = () => { if (closed) throw brokerErrors.closed(); };
  const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)) as T);

  const claim = (q: Queue, max: number): Held[] => {
    const now = Date.now();
    const ready = [...q.messages.values()].filter((m) => m.runAt <= now).sort((a, b) => a.runAt - b.runAt).slice(0, max);
    for (const m of ready) { m.attempt += 1; m.runAt = now + leaseMs(q.spec); m.token = ++tokens; }
    return ready.map((m) => ({ ...m }));
  };
  const nextDue = (q: Queue) => {
    let min = Infinity;
    for (const m of q.messages.values()) min = Math.min(min, m.runAt);
    return min;
  };

  const broker: MemoryBroker = {
    kind: 'memory',
    holder: 'memory',
    async init() { live(); },
    // Every consumer lives in this one process: when it is gone, so is the queue.
    async releaseHolder() { live(); return 0; },
    async listSubscriptions() { live(); return [...queues.values()].map((q) => ({ name: q.spec.name, topic: q.spec.topic, unit: q.spec.unit })); },
    async removeSubscription(name) { live(); queue(name); queues.delete(name); },
    unrouted: () => unrouted.map,
    async ensureSubscription(spec) {
      live();
      const q = queues.get(spec.name);
      if (q) q.spec = spec;
      else queues.set(spec.name, { spec, messages: new Map(), dead: new Map(), bell: new Bell() });
    },
    async publish(topic: string, messages: readonly OutgoingMessage[]) {
      live();
      if (messages.length && ![...queues.values()].some((q) => q.spec.topic === topic)) unrouted.note(topic, messages.length);
      for (const q of queues.values()) {
        if (q.spec.topic !== topic) continue;
        for (const m of messages) {
          if (q.messages.has(m.id)) continue;
          q.messages.set(m.id, { id: m.id, topic, payload: clone(m.payload), publishedAt: m.publishedAt, attempt: 0, runAt: Date.now(), token: 0, ...(m.headers ? { headers: m.headers } : {}) });
        }
        q.bell.ring();
      }
    },
    async consume(spec: SubscriptionSpec, handler: RawHandler) {
      live();
      const q = queue(spec.name);
      const current = (m: Held) => { const c = q.messages.get(m.id); return c && c.token === m.token ? c : undefined; };
      const handle = runConsumer<Held>(spec, {
        async fetch(max, signal) {
          const got = claim(q, max);
          if (got.length || signal.aborted) return got;
          const wait = Math.min(200, Math.max(1, nextDue(q) - Date.now()));
          await q.bell.wait(wait, signal);
          return signal.aborted ? [] : claim(q, max);
        },
        delivery: (m) => ({ id: m.id, payload: clone(m.payload), attempt: m.attempt, publishedAt: m.publishedAt, topic: m.topic, subscription: spec.name, ...(m.headers ? { headers: m.headers } : {}) }),
        async settle(m, outcome) {
          const c = current(m);
          if (!c) return;
          if (outcome.ok) { q.messages.delete(m.id); return; }
          const next = afterFailure(q.spec, c.attempt, outcome.dead);
          if (next.dead) {
            q.messages.delete(m.id);
            q.dead.set(m.id, { id: m.id, subscription: spec.name, topic: m.topic, payload: m.payload, error: outcome.error, attempts: c.attempt, publishedAt: m.publishedAt, failedAt: new Date() });
          } else {
            c.runAt = Date.now() + next.delayMs;
          }
        },
        async release(ms) {
          for (const m of ms) { const c = current(m); if (c) { c.runAt = Date.now(); c.attempt = Math.max(0, c.attempt - 1); } }
          q.bell.ring();
        },
        async closed() { consumers.delete(handle); },
      }, handler, warn);
      consumers.add(handle);
      return handle;
    },
    async broadcast(topic, payload, headers) {
      live();
      encodeBroadcast(topic, payload, headers);
      for (const fn of listeners.get(topic) ?? []) {
        const copy = clone(payload);
        queueMicrotask(() => { try { fn(copy, headers); } catch (e) { warn(`broadcast handler on topic "${topic}" failed`, e); } });
      }
    },
    async onBroadcast(topic, handler) {
      live();
      let set = listeners.get(topic);
      if (!set) listeners.set(topic, (set = new Set()));
      const fn = (p: unknown, h?: MessageHeaders) => handler(p, h);
      set.add(fn);
      return async () => { set.delete(fn); };
    },
    async stats(subscription): Promise<SubscriptionStats> {
      live();
      const q = queue(subscription);
      let oldest = Infinity;
      for (const m of q.messages.values()) oldest = Math.min(oldest, m.publishedAt.getTime());
      return {
        subscription, topic: q.spec.topic, backlog: q.messages.size,
        oldestAgeMs: q.messages.size ? Math.max(0, Date.now() - oldest) : null, deadLetters: q.dead.size,
      };
    },
    deadLetters: {
      async list(subscription, o = {}) {
        live();
        return [...queue(subscription).dead.values()].sort((a, b) => a.failedAt.getTime() - b.failedAt.getTime()).slice(0, o.limit ?? 100);
      },
      async get(subscription, id) { live(); return queue(subscription).dead.get(id); },
      async replay(subscription, ids) {
        live();
        const q = queue(subscription);
        let n = 0;
        for (const d of [...q.dead.values()]) {
          if (ids && !ids.includes(d.id)) continue;
          q.dead.delete(d.id);
          if (!q.messages.has(d.id)) q.messages.set(d.id, { id: d.id, topic: d.topic, payload: d.payload, publishedAt: d.publishedAt, attempt: 0, runAt: Date.now(), token: 0 });
          n++;
        }
        q.bell.ring();
        return n;
      },
      async purge(subscription, ids) {
        live();
        const q = queue(subscription);
        let n = 0;
        for (const id of [...q.dead.keys()]) if (!ids || ids.includes(id)) { q.dead.delete(id); n++; }
        return n;
      },
    },
    close: once(async () => {
      closed = true;
      await Promise.all([...consumers].map((c) => c.stop(0)));
      listeners.clear();
    }),
  };
  return broker;
}
