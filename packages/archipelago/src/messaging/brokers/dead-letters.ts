// The dead-letter store both PostgreSQL-backed brokers share: one table (`archipelago.dead_letters`),
// one row shape, the same list, get and purge; only how a replay puts messages back differs.
import type { Broker, DeadLetter } from '../broker.js';
import * as sql from './postgres-sql.js';

export interface DeadLetterRow { id: string; subscription: string; topic: string; payload: unknown; error: string; attempts: number; published_at: Date; failed_at: Date }

export const deadLetter = (r: DeadLetterRow): DeadLetter => ({
  id: r.id, subscription: r.subscription, topic: r.topic, payload: r.payload, error: r.error, attempts: r.attempts, publishedAt: r.published_at, failedAt: r.failed_at,
});

type Query = <R extends object>(text: string, values: unknown[]) => Promise<{ rows: R[] }>;

export function deadLetterStore(o: {
  query: Query;
  /** Throws for a closed broker or an unknown subscription (ARCH_E_SUBSCRIPTION_UNKNOWN). */
  check(subscription: string): Promise<void>;
  /** Puts the chosen dead letters (all when `ids` is undefined) back on their subscription; returns how many. */
  replay(subscription: string, ids: readonly string[] | undefined): Promise<number>;
}): Broker['deadLetters'] {
  return {
    async list(subscription, opts = {}) {
      await o.check(subscription);
      return (await o.query<DeadLetterRow>(sql.DEAD_LIST, [subscription, opts.limit ?? 100])).rows.map(deadLetter);
    },
    async get(subscription, id) {
      await o.check(subscription);
      const r = (await o.query<DeadLetterRow>(sql.DEAD_GET, [subscription, id])).rows[0];
      return r && deadLetter(r);
    },
    async replay(subscription, ids) {
      await o.check(subscription);
      return o.replay(subscription, ids);
    },
    async purge(subscription, ids) {
      await o.check(subscription);
      return (await o.query<{ n: number }>(sql.DEAD_PURGE, [subscription, ids ?? null])).rows[0]!.n;
    },
  };
}
