// The Messaging facade over any Broker: typed publish (schema-checked), the subscription runtime
// (schema check on consume, deadline, errors mapped to retry outcomes) and broadcasts.
import { randomUUID } from 'node:crypto';
import { ArchipelagoError } from '../errors.js';
import { contextOf, fail, headersOf, inSpan, SpanKind, trace, tracer, within, type Link } from '../tracing/spans.js';
import { subscriptionSpec } from './spec.js';
import type { BroadcastDefinition, SubscriptionDefinition, UnitContext } from '../units/define.js';
import type { Broker, ConsumerHandle, HandlerOutcome, OutgoingMessage, RawDelivery, SubscriptionSpec } from './broker.js';
import { deliveryTimes, once } from './common.js';
import type { Messaging, MessagingOptions, Overrun } from './messaging.js';
export type { Overrun } from './messaging.js';
import type { Topic } from './topic.js';
import type { Delivery, PublishOptions } from './contract.js';

function issues(error: { issues?: readonly { path: readonly PropertyKey[]; message: string }[] }): string[] {
  return (error.issues ?? []).map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`);
}

/** Throws ARCH_E_SCHEMA unless `message` fits the topic's schema. */
export function checkMessage<T>(topic: Topic<T>, message: unknown): T {
  const r = topic.schema.safeParse(message);
  if (r.success) return r.data;
  const details = issues(r.error as never);
  throw new ArchipelagoError('ARCH_E_SCHEMA', `message does not match the schema of topic "${topic.name}": ${details.join('; ')}`, details);
}

function errorText(e: unknown): string {
  if (e instanceof ArchipelagoError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}


/**
 * Runs one delivery through a subscription's handler: schema check, deadline, outcome. The returned
 * promise settles only when the handler's own promise does, so the consumer's slot stays taken while
 * the handler runs; at the deadline the delivery's signal aborts and the outcome is a failure.
 */
export async function runDelivery(def: SubscriptionDefinition, spec: Pick<SubscriptionSpec, 'deadlineMs'>, raw: RawDelivery, ctx: UnitContext, drain?: AbortSignal, onOverrun?: (o: Overrun) => void): Promise<HandlerOutcome> {
  const parsed = def.topic.schema.safeParse(raw.payload);
  if (!parsed.success) {
    return { ok: false, dead: true, error: `ARCH_E_SCHEMA: message does not match the schema of topic "${def.topic.name}": ${issues(parsed.error as never).join('; ')}` };
  }
  // The delivery's span is a child of its publish, every attempt alike, so a trace shows each
  // attempt under the one publish; an attempt after the first also links to the publish's context,
  // marked as a redelivery (the failed attempts' own spans are not stored with the message).
  const parent = contextOf(raw.headers);
  const producer = trace.getSpanContext(parent);
  const links: Link[] = raw.attempt > 1 && producer ? [{ context: producer, attributes: { 'archipelago.link': 'redelivery', 'messaging.delivery.previous_attempts': raw.attempt - 1 } }] : [];
  const span = tracer().startSpan(`process ${raw.topic}`, {
    kind: SpanKind.CONSUMER, links,
    attributes: {
      'messaging.operation.type': 'process', 'messaging.destination.name': raw.topic, 'messaging.consumer.group.name': raw.subscription,
      'messaging.message.id': raw.id, 'messaging.delivery.attempt': raw.attempt,
    },
  }, parent);
  return within(span, parent, async () => {
    const outcome = await handle(def, spec, raw, parsed.data, ctx, drain, onOverrun);
    if (!outcome.ok) fail(span, outcome.error);
    return outcome;
  });
}

async function handle(def: SubscriptionDefinition, spec: Pick<SubscriptionSpec, 'deadlineMs'>, raw: RawDelivery, message: unknown, ctx: UnitContext, drain?: AbortSignal, onOverrun?: (o: Overrun) => void): Promise<HandlerOutcome> {
  const times = deliveryTimes(spec);
  // The delivery's signal is made only when the handler reads it: most handlers never do, and an
  // AbortController (with its listener on the drain signal) per delivery is a sizeable share of a
  // delivery's CPU. Made late, it starts aborted if the deadline or the drain came first.
  let ac: AbortController | undefined;
  /** Set when the deadline passes: the signal's reason, the drain's when the drain came first. */
  let late: unknown;
  const onDrain = () => ac!.abort(drain!.reason);
  const signal = () => {
    if (ac) return ac.signal;
    ac = new AbortController();
    if (late !== undefined) ac.abort(late);
    else if (drain?.aborted) ac.abort(drain.reason);
    else drain?.addEventListener('abort', onDrain, { once: true });
    return ac.signal;
  };
  const delivery: Delivery<unknown> = {
    message, id: raw.id, attempt: raw.attempt, publishedAt: raw.publishedAt, topic: raw.topic, subscription: raw.subscription, get signal() { return signal(); },
  };
  let overrun: ReturnType<typeof setTimeout> | undefined;
  // One timer per delivery: the overrun timer is armed only once the deadline has passed.
  const deadline = setTimeout(() => {
    late = drain?.aborted ? drain.reason : new ArchipelagoError('ARCH_E_DEADLINE', `handler of subscription "${def.name}" ran past its deadline of ${times.deadlineMs} ms`);
    ac?.abort(late);
    overrun = setTimeout(() => onOverrun?.({ subscription: raw.subscription, id: raw.id, attempt: raw.attempt, deadlineMs: times.deadlineMs, overrunMs: times.overrunMs }), times.overrunMs - times.deadlineMs);
  }, times.deadlineMs);
  try {
    await def.handler(delivery, ctx);
    return late !== undefined ? { ok: false, error: errorText(late) } : { ok: true };
  } catch (e) {
    return { ok: false, error: errorText(late !== undefined ? late : e) };
  } finally {
    clearTimeout(deadline);
    if (overrun) clearTimeout(overrun);
    if (ac) drain?.removeEventListener('abort', onDrain);
  }
}

export function createMessaging(broker: Broker, opts: MessagingOptions): Messaging {
  const handles = new Set<ConsumerHandle>();
  const unlisteners = new Set<() => Promise<void>>();
  const onOverrun = (o: Overrun) => {
    opts.logger.fatal({ code: 'ARCH_E_HANDLER_OVERRUN', ...o },
      `handler of subscription "${o.subscription}" still runs ${o.overrunMs - o.deadlineMs} ms past its deadline of ${o.deadlineMs} ms (message ${o.id}, attempt ${o.attempt}); the replica exits so that it is restarted`);
    opts.onOverrun?.(o);
  };
  const outgoing = <T>(topic: Topic<T>, message: T, id?: string): OutgoingMessage => {
    checkMessage(topic, message);
    return { id: id ?? randomUUID(), payload: message, publishedAt: new Date() };
  };
  // One PRODUCER span per publish call; each message carries its context in its headers.
  const producing = <R>(topic: string, count: number, tx: boolean, fn: () => Promise<R>) => inSpan(`publish ${topic}`, {
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.system': broker.kind, 'messaging.operation.type': 'send', 'messaging.destination.name': topic, 'messaging.batch.message_count': count, 'archipelago.transactional': tx },
  }, fn);
  const withHeaders = (ms: OutgoingMessage[]): OutgoingMessage[] => {
    const headers = headersOf();
    return headers ? ms.map((m) => ({ ...m, headers })) : ms;
  };

  return {
    broker,
    async publish<T>(topic: Topic<T>, message: T, o: PublishOptions = {}) {
      const m = outgoing(topic, message, o.id);
      await producing(topic.name, 1, Boolean(o.tx), () => broker.publish(topic.name, withHeaders([m]), { tx: o.tx }));
      return m.id;
    },
    async publishMany<T>(topic: Topic<T>, messages: readonly T[], o: Omit<PublishOptions, 'id'> = {}) {
      const ms = messages.map((m) => outgoing(topic, m));
      if (ms.length) await producing(topic.name, ms.length, Boolean(o.tx), () => broker.publish(topic.name, withHeaders(ms), { tx: o.tx }));
      return ms.map((m) => m.id);
    },
    async broadcast<T>(topic: Topic<T>, message: T) {
      checkMessage(topic, message);
      await inSpan(`broadcast ${topic.name}`, {
        kind: SpanKind.PRODUCER, attributes: { 'messaging.system': broker.kind, 'messaging.operation.type': 'send', 'messaging.destination.name': topic.name, 'archipelago.broadcast': true },
      }, () => broker.broadcast(topic.name, message, headersOf()));
    },
    async startSubscriptions(defs: readonly SubscriptionDefinition[], ctx: UnitContext) {
      const started: ConsumerHandle[] = [];
      try {
        for (const def of defs) {
          const spec = subscriptionSpec(opts.unit, def);
          await broker.ensureSubscription(spec);
          started.push(await broker.consume(spec, (raw, drain) => runDelivery(def, spec, raw, ctx, drain, onOverrun)));
        }
      } catch (e) {
        // All or nothing: a replica must not run half of its subscriptions.
        await Promise.all(started.map((h) => h.stop(0).catch(() => {})));
        throw e;
      }
      let stopping: Promise<{ cut: number }> | undefined;
      const combined: ConsumerHandle = {
        get inFlight() { return started.reduce((n, h) => n + h.inFlight, 0); },
        get maxInFlight() { return Math.max(0, ...started.map((h) => h.maxInFlight)); },
        stop(graceMs: number) {
          stopping ??= Promise.all(started.map((h) => h.stop(graceMs))).then((rs) => {
            handles.delete(combined);
            return { cut: rs.reduce((n, r) => n + r.cut, 0) };
          });
          return stopping;
        },
      };
      handles.add(combined);
      return combined;
    },
    async startBroadcasts(defs: readonly Pick<BroadcastDefinition, 'topic' | 'handler'>[], ctx: UnitContext) {
      const offs: (() => Promise<void>)[] = [];
      for (const def of defs) {
        offs.push(await broker.onBroadcast(def.topic.name, (payload, headers) => {
          const parsed = def.topic.schema.safeParse(payload);
          if (!parsed.success) {
            opts.logger.warn({ topic: def.topic.name, issues: issues(parsed.error as never) }, 'dropped a broadcast that does not match its topic schema');
            return;
          }
          inSpan(`receive ${def.topic.name}`, {
            kind: SpanKind.CONSUMER, parent: contextOf(headers),
            attributes: { 'messaging.system': broker.kind, 'messaging.operation.type': 'receive', 'messaging.destination.name': def.topic.name, 'archipelago.broadcast': true },
          }, () => def.handler(parsed.data, ctx)).catch((e: unknown) => {
            opts.logger.error({ topic: def.topic.name, err: e }, 'a broadcast handler failed');
          });
        }));
      }
      const off = once(async () => { unlisteners.delete(off); await Promise.all(offs.map((f) => f())); });
      unlisteners.add(off);
      return off;
    },
    /** Stops consumers and broadcast listeners; the broker belongs to the caller and stays open. */
    close: once(async () => {
      for (const h of [...handles]) await h.stop(0).catch(() => {});
      for (const off of [...unlisteners]) await off().catch(() => {});
    }),
  };
}
