// The nats broker's outbox relay: `{ tx }` publishes are rows in PostgreSQL, committed with the
// caller's transaction; one relay per database (an advisory lock inside its transaction) sends them
// to JetStream in order and deletes them only after JetStream acknowledged them, so a crash
// re-sends, deduplicated by message id. Woken by NOTIFY, and every second regardless.
import type pg from 'pg';
import { transaction } from '../../database/pool.js';
import { Bell, sleep } from '../common.js';
import type { Warn } from '../consumer.js';
import type { MessageHeaders } from '../broker.js';
import { PgListener } from './pg-listener.js';
import * as sql from './nats-sql.js';

const RELAY_BATCH = 1000;

export interface RelayItem { topic: string; id: string; payload: unknown; publishedAt: Date; headers?: MessageHeaders }

export interface OutboxRelay { stop(): Promise<void> }

export async function startOutboxRelay(o: { pool: pg.Pool; databaseUrl: string; warn: Warn; publishAll(items: RelayItem[]): Promise<void> }): Promise<OutboxRelay> {
  const bell = new Bell();
  const stopping = new AbortController();
  const listener = new PgListener(o.databaseUrl, o.warn);
  await listener.listen(sql.OUTBOX_CHANNEL, () => bell.ring(), () => bell.ring());
  const once = (): Promise<number> => transaction(o.pool, async (c) => {
    if (!(await c.query<{ locked: boolean }>(sql.RELAY_TRY_LOCK)).rows[0]!.locked) return 0;
    const rows = (await c.query<{ seq: string; topic: string; id: string; payload: unknown; published_at: Date; headers: Record<string, string> | null }>(sql.OUTBOX_BATCH, [RELAY_BATCH])).rows;
    if (rows.length) {
      await o.publishAll(rows.map((r) => ({ topic: r.topic, id: r.id, payload: r.payload, publishedAt: r.published_at, ...(r.headers ? { headers: r.headers } : {}) })));
      await c.query(sql.OUTBOX_DELETE, [rows.map((r) => r.seq)]);
    }
    return rows.length;
  });
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        const n = await once();
        if (n < RELAY_BATCH) await bell.wait(1000, stopping.signal);
      } catch (e) {
        if (stopping.signal.aborted) break;
        o.warn('relaying the outbox to JetStream failed; retrying in 1s', e);
        await sleep(1000, stopping.signal);
      }
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
      await listener.close();
    },
  };
}
