// The messaging contract shared by unit hosts, brokers and the supervisor.
import type { Queryable } from '../database/pool.js';
import type { Duration } from '../service/types.js';

export interface Delivery<T> {
  readonly message: T;
  /** Stable id of the message: the idempotency key. */
  readonly id: string;
  /** 1 on first delivery. */
  readonly attempt: number;
  readonly publishedAt: Date;
  readonly topic: string;
  readonly subscription: string;
  /** Aborted at the subscription's deadline, and when a drain's grace runs out: stop the work then. */
  readonly signal: AbortSignal;
}

export interface Backoff { initial?: Duration; max?: Duration; factor?: number }

export interface SubscribeOptions {
  /** Messages handled at once by one replica. Default 1. */
  concurrency?: number;
  /** Attempts before a message goes to dead letters. Default 5. */
  maxAttempts?: number;
  backoff?: Backoff;
  /**
   * A handler running longer than this has failed: its `signal` aborts then. One still running a
   * tenth of the deadline later (0.5 s to 15 s) ends its replica, which is restarted. Default 5m.
   */
  deadline?: Duration;
}

export interface PublishOptions {
  /** A client inside an open transaction: the message is delivered iff it commits. */
  tx?: Queryable;
  /** Explicit message id (idempotency key); random when omitted. */
  id?: string;
}
