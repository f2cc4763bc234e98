// The backend contract every broker implements (postgres, nats, memory). Broker details stay
// behind it: unit hosts and the supervisor speak only this and the Messaging facade.
import type { Queryable } from '../database/pool.js';

/** Headers a message carries beside its payload (W3C `traceparent`/`tracestate`); brokers store and return them as they are. */
export type MessageHeaders = Readonly<Record<string, string>>;

export interface OutgoingMessage {
  readonly id: string;
  readonly payload: unknown;
  readonly publishedAt: Date;
  readonly headers?: MessageHeaders;
}

export interface RawDelivery {
  readonly id: string;
  readonly payload: unknown;
  readonly attempt: number;
  readonly publishedAt: Date;
  readonly topic: string;
  readonly subscription: string;
  readonly headers?: MessageHeaders;
}

export interface SubscriptionSpec {
  readonly name: string;
  readonly topic: string;
  /** The unit that owns the subscription. */
  readonly unit: string;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly factor: number };
  readonly deadlineMs: number;
}

/** Outcome a handler reports to the broker. `dead` skips retries (schema failures). */
export type HandlerOutcome = { ok: true } | { ok: false; error: string; dead?: boolean };

export interface ConsumerHandle {
  /** Messages currently being handled by this consumer. */
  readonly inFlight: number;
  /** The most handlers this consumer ever had running at once (never more than `concurrency`). */
  readonly maxInFlight: number;
  /** Stops fetching, waits up to `graceMs` for in-flight work, releases what is left. */
  stop(graceMs: number): Promise<{ cut: number }>;
}

export interface DeadLetter {
  readonly id: string;
  readonly subscription: string;
  readonly topic: string;
  readonly payload: unknown;
  readonly error: string;
  readonly attempts: number;
  readonly publishedAt: Date;
  readonly failedAt: Date;
}

export interface RegisteredSubscription {
  readonly name: string;
  readonly topic: string;
  readonly unit: string;
}

export interface SubscriptionStats {
  readonly subscription: string;
  readonly topic: string;
  readonly backlog: number;
  /** Age in ms of the oldest message waiting, or null when none waits. */
  readonly oldestAgeMs: number | null;
  readonly deadLetters: number;
}

export interface Broker {
  readonly kind: 'postgres' | 'nats' | 'memory';
  /** The id this process's consumers put on the leases they take (`<replica>:<pid>`). */
  readonly holder: string;
  /** Creates tables, streams and consumers as needed; idempotent. */
  init(): Promise<void>;
  /**
   * Ends every lease a gone consumer process held, so its messages are redelivered now rather than
   * when the lease runs out; returns how many. Their attempts stand: the handlers did start.
   */
  releaseHolder(holder: string): Promise<number>;
  /** Registers a subscription so that messages published from now on are kept for it. */
  ensureSubscription(spec: SubscriptionSpec): Promise<void>;
  /** Every subscription registered on the broker, declared or not. */
  listSubscriptions(): Promise<RegisteredSubscription[]>;
  /** Deletes a subscription with its waiting messages and dead letters (an explicit command only). */
  removeSubscription(name: string): Promise<void>;
  /** Messages published to a topic with no subscription at all, per topic, since this broker opened. */
  unrouted(): ReadonlyMap<string, number>;
  publish(topic: string, messages: readonly OutgoingMessage[], opts?: { tx?: Queryable }): Promise<void>;
  /** `handler`'s signal aborts when a drain's grace runs out; its slot stays taken until its promise settles. */
  consume(spec: SubscriptionSpec, handler: (d: RawDelivery, signal: AbortSignal) => Promise<HandlerOutcome>): Promise<ConsumerHandle>;
  broadcast(topic: string, payload: unknown, headers?: MessageHeaders): Promise<void>;
  onBroadcast(topic: string, handler: (payload: unknown, headers?: MessageHeaders) => void): Promise<() => Promise<void>>;
  stats(subscription: string): Promise<SubscriptionStats>;
  deadLetters: {
    list(subscription: string, opts?: { limit?: number }): Promise<DeadLetter[]>;
    get(subscription: string, id: string): Promise<DeadLetter | undefined>;
    /** Moves dead letters back to the subscription's queue (all when `ids` is omitted); returns how many. */
    replay(subscription: string, ids?: readonly string[]): Promise<number>;
    purge(subscription: string, ids?: readonly string[]): Promise<number>;
  };
  close(): Promise<void>;
}
