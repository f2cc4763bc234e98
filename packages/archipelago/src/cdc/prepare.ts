// What a relay needs in the database before it reads: logical WAL, the publication (with REPLICA
// IDENTITY FULL on its tables) and the replication slot. Every step is idempotent.
import type pg from 'pg';
import type { Logger } from 'pino';
import { ArchipelagoError } from '../errors.js';

export interface RelayNames {
  /** Publication and slot share this name. */
  readonly publication: string;
  readonly slot: string;
}

/** Slot names allow only lowercase letters, digits and `_`, at most 63 characters. */
export function relayNames(service: string, unit: string): RelayNames {
  const base = `${service}_${unit}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
  return { publication: base, slot: base };
}

export interface WatchedTable {
  /** As the unit declares it (`posts` or `audit.posts`); the change's `table` field. */
  readonly declared: string;
  readonly schema: string;
  readonly name: string;
}

export function watchedTables(tables: readonly string[]): WatchedTable[] {
  return tables.map((declared) => {
    const dot = declared.indexOf('.');
    return dot < 0
      ? { declared, schema: 'public', name: declared }
      : { declared, schema: declared.slice(0, dot), name: declared.slice(dot + 1) };
  });
}

const qualified = (c: pg.ClientBase, t: WatchedTable) => `${c.escapeIdentifier(t.schema)}.${c.escapeIdentifier(t.name)}`;

/** Fails with a message saying what to change when the server cannot decode its log. */
export async function checkLogical(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
  const level = rows[0]?.wal_level;
  if (level !== 'logical') {
    throw new ArchipelagoError('ARCH_E_CDC_NOT_LOGICAL',
      `PostgreSQL runs with wal_level = ${level ?? 'unknown'}, but change data capture needs wal_level = logical. `
      + `Run "ALTER SYSTEM SET wal_level = logical;" as a superuser and restart PostgreSQL `
      + `(on a managed database, set the parameter wal_level (or rds.logical_replication = 1) in its parameter group and reboot). `
      + 'The embedded PostgreSQL started by archipelago already runs with wal_level = logical.');
  }
}

export async function checkTables(client: pg.ClientBase, unit: string, tables: readonly WatchedTable[]): Promise<void> {
  const missing: string[] = [];
  for (const t of tables) {
    const { rows } = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [qualified(client, t)]);
    if (!rows[0]?.oid) missing.push(t.declared);
  }
  if (missing.length) {
    throw new ArchipelagoError('ARCH_E_CDC_SLOT',
      `cdc unit "${unit}": watched table${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} do${missing.length > 1 ? '' : 'es'} not exist; run the migrations that create ${missing.length > 1 ? 'them' : 'it'} first`);
  }
}

/**
 * Creates or corrects the publication. Watched tables get REPLICA IDENTITY FULL so that updates
 * and deletes carry the whole old row (`before`), not only its primary key.
 */
export async function ensurePublication(client: pg.ClientBase, names: RelayNames, tables: readonly WatchedTable[], logger: Logger): Promise<void> {
  for (const t of tables) {
    const { rows } = await client.query<{ relreplident: string }>('SELECT relreplident FROM pg_class WHERE oid = to_regclass($1)', [qualified(client, t)]);
    if (rows[0]?.relreplident !== 'f') {
      await client.query(`ALTER TABLE ${qualified(client, t)} REPLICA IDENTITY FULL`);
      logger.info({ table: t.declared }, `set REPLICA IDENTITY FULL on ${t.declared} so that its updates and deletes carry the old row`);
    }
  }
  const list = tables.map((t) => qualified(client, t)).join(', ');
  const existing = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1', [names.publication]);
  const exists = (await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [names.publication])).rowCount! > 0;
  const pub = client.escapeIdentifier(names.publication);
  if (!exists) {
    // Truncates are left out: a change topic carries row changes only.
    await client.query(`CREATE PUBLICATION ${pub} FOR TABLE ${list} WITH (publish = 'insert, update, delete')`);
    logger.info({ publication: names.publication }, `created publication ${names.publication}`);
    return;
  }
  const have = new Set(existing.rows.map((r) => `${r.schemaname}.${r.tablename}`));
  const want = new Set(tables.map((t) => `${t.schema}.${t.name}`));
  if (have.size !== want.size || [...want].some((w) => !have.has(w))) {
    await client.query(`ALTER PUBLICATION ${pub} SET TABLE ${list}`);
    logger.info({ publication: names.publication, tables: [...want] }, `updated the tables of publication ${names.publication}`);
  }
}

export async function ensureSlot(client: pg.ClientBase, names: RelayNames, logger: Logger): Promise<void> {
  const { rows } = await client.query<{ plugin: string; database: string; current: string }>(
    'SELECT plugin, database, current_database() AS current FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
  const slot = rows[0];
  if (slot) {
    if (slot.plugin !== 'pgoutput' || slot.database !== slot.current) {
      throw new ArchipelagoError('ARCH_E_CDC_SLOT',
        `replication slot "${names.slot}" exists for plugin ${slot.plugin} in database ${slot.database}; drop it with SELECT pg_drop_replication_slot('${names.slot}') to let the relay recreate it`);
    }
    return;
  }
  try {
    await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [names.slot]);
  } catch (e) {
    throw new ArchipelagoError('ARCH_E_CDC_SLOT', `could not create replication slot "${names.slot}": ${(e as Error).message}`);
  }
  logger.info({ slot: names.slot }, `created replication slot ${names.slot}`);
}

export interface SlotPosition {
  confirmedLsn: string | null;
  /** Bytes of WAL written since the slot's confirmed position. */
  lagBytes: number;
  /** Bytes of WAL the slot keeps from being recycled. */
  retainedBytes: number;
}

export async function slotPosition(client: pg.ClientBase, slot: string): Promise<SlotPosition | undefined> {
  const { rows } = await client.query<{ confirmed: string | null; lag: string | null; retained: string | null }>(
    `SELECT confirmed_flush_lsn::text AS confirmed,
            GREATEST(pg_current_wal_lsn() - confirmed_flush_lsn, 0)::text AS lag,
            GREATEST(pg_current_wal_lsn() - restart_lsn, 0)::text AS retained
       FROM pg_replication_slots WHERE slot_name = $1`, [slot]);
  const r = rows[0];
  if (!r) return undefined;
  return { confirmedLsn: r.confirmed, lagBytes: Number(r.lag ?? 0), retainedBytes: Number(r.retained ?? 0) };
}

/**
 * Creates the publication and slot ahead of the relay, so that writes made before the relay first
 * runs (the API starting in parallel, a deploy job) are already captured. Idempotent.
 */
export async function prepareCapture(client: pg.ClientBase, service: string, unit: string, tables: readonly string[], logger: Logger): Promise<void> {
  const watched = watchedTables(tables);
  await checkLogical(client);
  await checkTables(client, unit, watched);
  const names = relayNames(service, unit);
  await ensurePublication(client, names, watched, logger);
  await ensureSlot(client, names, logger);
}
