// The postgres broker's SQL: one parameterised statement per command, never string-built.
// Tables live in the `archipelago` schema of the service's own database, so a publish can be part
// of the caller's transaction.

import { advisoryLockKey, TOOLKIT_LOCKS } from '../../database/locks.js';

/** Dead letters share one table shape whatever the broker, so `archipelago dlq` reads both alike. */
export const DEAD_LETTERS_DDL = `CREATE TABLE IF NOT EXISTS archipelago.dead_letters (
  subscription text NOT NULL,
  id text NOT NULL,
  topic text NOT NULL,
  payload jsonb,
  error text NOT NULL,
  attempts int NOT NULL,
  published_at timestamptz NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscription, id)
);`;

export const QUEUE_CHANNEL = 'archipelago_queue';
export const BROADCAST_CHANNEL = 'archipelago_broadcast';
const LOCK = advisoryLockKey(TOOLKIT_LOCKS.postgresBrokerSetup);

export const INIT = `
SELECT pg_advisory_xact_lock(${LOCK}::bigint);
CREATE SCHEMA IF NOT EXISTS archipelago;
CREATE TABLE IF NOT EXISTS archipelago.subscriptions (
  name text PRIMARY KEY,
  topic text NOT NULL,
  unit text NOT NULL,
  spec jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS subscriptions_topic ON archipelago.subscriptions (topic);
CREATE TABLE IF NOT EXISTS archipelago.queue (
  subscription text NOT NULL,
  id text NOT NULL,
  seq bigserial,
  topic text NOT NULL,
  payload jsonb,
  published_at timestamptz NOT NULL,
  attempt int NOT NULL DEFAULT 0,
  run_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  PRIMARY KEY (subscription, id)
);
CREATE INDEX IF NOT EXISTS queue_ready ON archipelago.queue (subscription, run_at, seq);
-- The consumer process holding a message's lease, so its leases can be released when it dies.
ALTER TABLE archipelago.queue ADD COLUMN IF NOT EXISTS holder text;
CREATE INDEX IF NOT EXISTS queue_holder ON archipelago.queue (holder) WHERE holder IS NOT NULL;
-- The message's headers (W3C trace context), handed back with each delivery.
ALTER TABLE archipelago.queue ADD COLUMN IF NOT EXISTS headers jsonb;
${DEAD_LETTERS_DDL}`;

/**
 * True when every object INIT creates is there. INIT's DDL locks the queue (ADD COLUMN IF NOT
 * EXISTS takes ACCESS EXCLUSIVE even when the column exists, CREATE INDEX IF NOT EXISTS a SHARE
 * lock), so running it while other replicas publish in their own transactions deadlocks them; a
 * replica that finds the schema complete skips it. INIT runs in one transaction, so its last
 * objects existing means all of them do.
 */
export const SCHEMA_READY = `SELECT to_regclass('archipelago.queue_holder') IS NOT NULL
  AND to_regclass('archipelago.subscriptions_topic') IS NOT NULL
  AND to_regclass('archipelago.dead_letters') IS NOT NULL
  AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('archipelago.queue') AND attname = 'headers' AND NOT attisdropped) AS ready`;

export const ENSURE_SUBSCRIPTION = `
INSERT INTO archipelago.subscriptions (name, topic, unit, spec) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE SET topic = excluded.topic, unit = excluded.unit, spec = excluded.spec, updated_at = now()`;

export const SUBSCRIPTION_EXISTS = `SELECT 1 FROM archipelago.subscriptions WHERE name = $1`;

export const TOPIC_HAS_SUBSCRIPTION = `SELECT 1 FROM archipelago.subscriptions WHERE topic = $1 LIMIT 1`;

export const LIST_SUBSCRIPTIONS = `SELECT name, topic, unit FROM archipelago.subscriptions ORDER BY name`;

export const REMOVE_SUBSCRIPTION = `
WITH q AS (DELETE FROM archipelago.queue WHERE subscription = $1),
d AS (DELETE FROM archipelago.dead_letters WHERE subscription = $1)
DELETE FROM archipelago.subscriptions WHERE name = $1`;

/** One job per (message, subscription on the topic), and one wake-up per subscription, in one statement. */
export const PUBLISH = `
WITH ins AS (
  INSERT INTO archipelago.queue (subscription, id, topic, payload, published_at, headers)
  SELECT s.name, m.id, $1, m.payload, m.published_at, m.headers
  FROM archipelago.subscriptions s
  CROSS JOIN unnest($2::text[], $3::jsonb[], $4::timestamptz[], $5::jsonb[]) WITH ORDINALITY AS m(id, payload, published_at, headers, n)
  WHERE s.topic = $1
  ORDER BY m.n, s.name
  ON CONFLICT (subscription, id) DO NOTHING
  RETURNING subscription
)
SELECT pg_notify('${QUEUE_CHANNEL}', subscription) FROM (SELECT DISTINCT subscription FROM ins) w`;

export const CLAIM = `
WITH c AS (
  SELECT id FROM archipelago.queue
  WHERE subscription = $1 AND run_at <= now()
  ORDER BY run_at, seq
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE archipelago.queue q
SET attempt = q.attempt + 1, run_at = now() + make_interval(secs => $3::float8 / 1000), holder = $4
FROM c WHERE q.subscription = $1 AND q.id = c.id
RETURNING q.id, q.topic, q.payload, q.attempt, q.published_at, q.headers`;

export const NEXT_DUE = `
SELECT GREATEST(0, EXTRACT(EPOCH FROM min(run_at) - now()) * 1000)::float8 AS ms
FROM archipelago.queue WHERE subscription = $1`;

export const ACK = `DELETE FROM archipelago.queue WHERE subscription = $1 AND id = ANY($2::text[])`;

export const RETRY = `
UPDATE archipelago.queue SET run_at = now() + make_interval(secs => $4::float8 / 1000), last_error = $5, holder = NULL
WHERE subscription = $1 AND id = $2 AND attempt = $3`;

export const DEAD = `
WITH d AS (
  DELETE FROM archipelago.queue WHERE subscription = $1 AND id = $2 AND attempt = $3 RETURNING *
)
INSERT INTO archipelago.dead_letters (subscription, id, topic, payload, error, attempts, published_at)
SELECT subscription, id, topic, payload, $4, attempt, published_at FROM d
ON CONFLICT (subscription, id) DO UPDATE
SET payload = excluded.payload, error = excluded.error, attempts = excluded.attempts, failed_at = now()`;

/**
 * Gives messages back unhandled: visible at once, and the claim's attempt is undone (a release is
 * not an attempt). Only rows still at the attempt this holder claimed: one whose lease lapsed and
 * that another consumer claimed since is left alone.
 */
export const RELEASE = `
WITH r AS (
  UPDATE archipelago.queue q SET run_at = now(), attempt = GREATEST(q.attempt - 1, 0), holder = NULL
  FROM unnest($2::text[], $3::int[]) AS g(id, attempt)
  WHERE q.subscription = $1 AND q.id = g.id AND q.attempt = g.attempt
  RETURNING 1
)
SELECT pg_notify('${QUEUE_CHANNEL}', $1) FROM (SELECT 1 FROM r LIMIT 1) x`;

/**
 * Ends every lease a dead consumer process held. Its handlers did start, so their attempts stand
 * (a message that kills its replica still reaches dead letters after maxAttempts).
 */
export const RELEASE_HOLDER = `
WITH r AS (
  UPDATE archipelago.queue SET run_at = now(), holder = NULL
  WHERE holder = $1 AND run_at > now()
  RETURNING subscription
), wake AS (
  SELECT pg_notify('${QUEUE_CHANNEL}', d.subscription) FROM (SELECT DISTINCT subscription FROM r) d
)
SELECT (SELECT count(*) FROM r)::int AS n, (SELECT count(*) FROM wake)::int AS woke`;

/**
 * Ends the server sessions of a gone consumer process (named by application_name, which the server
 * cuts at 63 bytes) and returns how many were still there; called until none is.
 */
export const END_HOLDER_SESSIONS = `
SELECT count(*)::int AS n FROM (
  SELECT pg_terminate_backend(pid) FROM pg_stat_activity
  WHERE application_name = left($1, 63) AND pid <> pg_backend_pid()
) s`;

export const STATS = `
SELECT s.topic,
  (SELECT count(*) FROM archipelago.queue q WHERE q.subscription = s.name)::int AS backlog,
  (SELECT (EXTRACT(EPOCH FROM now() - min(q.published_at)) * 1000)::float8
     FROM archipelago.queue q WHERE q.subscription = s.name) AS oldest_age_ms,
  (SELECT count(*) FROM archipelago.dead_letters d WHERE d.subscription = s.name)::int AS dead_letters
FROM archipelago.subscriptions s WHERE s.name = $1`;

const DEAD_COLUMNS = 'id, subscription, topic, payload, error, attempts, published_at, failed_at';

export const DEAD_LIST = `
SELECT ${DEAD_COLUMNS} FROM archipelago.dead_letters WHERE subscription = $1 ORDER BY failed_at, id LIMIT $2`;

export const DEAD_GET = `SELECT ${DEAD_COLUMNS} FROM archipelago.dead_letters WHERE subscription = $1 AND id = $2`;

/** Moves dead letters back to the queue as fresh messages; $2 NULL means all. */
export const DEAD_REPLAY = `
WITH d AS (
  DELETE FROM archipelago.dead_letters WHERE subscription = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[]))
  RETURNING subscription, id, topic, payload, published_at
), ins AS (
  INSERT INTO archipelago.queue (subscription, id, topic, payload, published_at)
  SELECT subscription, id, topic, payload, published_at FROM d
  ON CONFLICT (subscription, id) DO NOTHING
  RETURNING 1
), wake AS (
  SELECT pg_notify('${QUEUE_CHANNEL}', $1) FROM (SELECT 1 FROM ins LIMIT 1) x
)
SELECT (SELECT count(*) FROM d)::int AS n, (SELECT count(*) FROM wake)::int AS woke`;

export const DEAD_PURGE = `
WITH d AS (
  DELETE FROM archipelago.dead_letters WHERE subscription = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[]))
  RETURNING 1
)
SELECT count(*)::int AS n FROM d`;

export const BROADCAST = `SELECT pg_notify('${BROADCAST_CHANNEL}', $1)`;
