// A @fastify/rate-limit store in PostgreSQL, so the auth limit holds across every api replica
// rather than per process. The plugin ships an in-memory store and a Redis one; the service's
// only shared state is its database, so this is the plugin's store contract over one upsert.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Queryable } from 'archipelago-toolkit';

const INCR = `INSERT INTO rate_limits AS r (key, window_ends, hits) VALUES ($1, now() + $2 * interval '1 millisecond', 1)
  ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN r.window_ends <= now() THEN 1 ELSE r.hits + 1 END,
    window_ends = CASE WHEN r.window_ends <= now() THEN now() + $2 * interval '1 millisecond' ELSE r.window_ends END
  RETURNING hits, greatest(0, ceil(extract(epoch FROM r.window_ends - now()) * 1000))::int AS ttl`;

/** Counts one hit on `key` in its fixed window (opened by the first hit, `windowMs` long). */
export async function hit(db: Queryable, key: string, windowMs: number): Promise<{ current: number; ttl: number }> {
  const r = await db.query<{ hits: number; ttl: number }>({ name: 'rate-limit-incr', text: INCR, values: [key, windowMs] });
  return { current: r.rows[0]!.hits, ttl: r.rows[0]!.ttl };
}

/** Counts hits per key in fixed windows: the first hit opens a window of `timeWindow` ms. */
export function postgresRateLimitStore(db: Queryable): FastifyRateLimitStoreCtor {
  class PostgresStore implements FastifyRateLimitStore {
    constructor(_options: unknown, private readonly prefix = 'global:') {}

    incr(key: string, cb: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow?: number): void {
      hit(db, this.prefix + key, timeWindow ?? 60_000).then((r) => cb(null, r), (e: unknown) => cb(e as Error));
    }

    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // The plugin passes the route's merged limit options, the route under `routeInfo` (v10),
      // whatever the declared type says: each limited route counts on its own.
      const route = (routeOptions as unknown as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo;
      return new PostgresStore(undefined, `${[route?.method ?? ''].flat().join(',')} ${route?.url ?? ''}:`);
    }
  }
  return PostgresStore;
}
