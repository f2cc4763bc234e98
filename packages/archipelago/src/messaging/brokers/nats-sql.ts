// The nats broker's PostgreSQL side: the outbox that `{ tx }` publishes write into (relayed to
// JetStream in order) and the dead letters (a table, so that show/purge by id are indexed reads).
import { advisoryLockKey, TOOLKIT_LOCKS } from '../../database/locks.js';
import { DEAD_LETTERS_DDL } from './postgres-sql.js';

export const OUTBOX_CHANNEL = 'archipelago_outbox';
const LOCK = advisoryLockKey(TOOLKIT_LOCKS.natsBrokerSetup);
/** Held by the one relay that may publish the outbox, so messages leave in order. */
export const RELAY_LOCK = advisoryLockKey(TOOLKIT_LOCKS.natsOutboxRelay);

export const INIT = `
SELECT pg_advisory_xact_lock(${LOCK}::bigint);
CREATE SCHEMA IF NOT EXISTS archipelago;
CREATE TABLE IF NOT EXISTS archipelago.outbox (
  seq bigserial PRIMARY KEY,
  topic text NOT NULL,
  id text NOT NULL,
  payload jsonb,
  published_at timestamptz NOT NULL,
  headers jsonb
);
-- The headers column came later: added only when missing, since ALTER TABLE locks the outbox that
-- other replicas' transactions write into.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'archipelago.outbox'::regclass AND attname = 'headers' AND NOT attisdropped) THEN
    ALTER TABLE archipelago.outbox ADD COLUMN headers jsonb;
  END IF;
END $$;
-- How often each message was given back unhandled: JetStream counts those deliveries, we do not.
CREATE TABLE IF NOT EXISTS archipelago.nats_releases (
  subscription text NOT NULL,
  id text NOT NULL,
  n int NOT NULL,
  PRIMARY KEY (subscription, id)
);
${DEAD_LETTERS_DDL}`;

export const RELEASES_ADD = `
INSERT INTO archipelago.nats_releases (subscription, id, n) SELECT $1, id, 1 FROM unnest($2::text[]) AS u(id)
ON CONFLICT (subscription, id) DO UPDATE SET n = archipelago.nats_releases.n + 1`;
export const RELEASES_READ = `SELECT id, n FROM archipelago.nats_releases WHERE subscription = $1 AND id = ANY($2::text[])`;
export const RELEASES_FORGET = `DELETE FROM archipelago.nats_releases WHERE subscription = $1 AND id = $2`;
export const RELEASES_FORGET_ALL = `DELETE FROM archipelago.nats_releases WHERE subscription = $1`;

export const OUTBOX_INSERT = `
WITH ins AS (
  INSERT INTO archipelago.outbox (topic, id, payload, published_at, headers)
  SELECT $1, m.id, m.payload, m.published_at, m.headers
  FROM unnest($2::text[], $3::jsonb[], $4::timestamptz[], $5::jsonb[]) WITH ORDINALITY AS m(id, payload, published_at, headers, n)
  ORDER BY m.n
  RETURNING 1
)
SELECT pg_notify('${OUTBOX_CHANNEL}', '') FROM (SELECT 1 FROM ins LIMIT 1) x`;

export const RELAY_TRY_LOCK = `SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}::bigint) AS locked`;
export const OUTBOX_BATCH = `SELECT seq, topic, id, payload, published_at, headers FROM archipelago.outbox ORDER BY seq LIMIT $1`;
/** By sequence list, not `<= max`: a row committed meanwhile with a lower sequence was not relayed. */
export const OUTBOX_DELETE = `DELETE FROM archipelago.outbox WHERE seq = ANY($1::bigint[])`;

export const DEAD_INSERT = `
INSERT INTO archipelago.dead_letters (subscription, id, topic, payload, error, attempts, published_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (subscription, id) DO UPDATE
SET payload = excluded.payload, error = excluded.error, attempts = excluded.attempts, failed_at = now()`;

export const DEAD_COUNT = `SELECT count(*)::int AS n FROM archipelago.dead_letters WHERE subscription = $1`;

export const DEAD_TAKE = `
SELECT id, subscription, topic, payload, error, attempts, published_at, failed_at FROM archipelago.dead_letters
WHERE subscription = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[])) ORDER BY failed_at, id FOR UPDATE`;

export const DEAD_DELETE = `DELETE FROM archipelago.dead_letters WHERE subscription = $1 AND id = ANY($2::text[])`;

export { DEAD_LIST, DEAD_GET, DEAD_PURGE } from './postgres-sql.js';
