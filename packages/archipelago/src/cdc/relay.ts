// The cdc unit's relay: one active replica per service holds a session advisory lock and streams
// the slot to the broker; the others wait on standby and poll the lock. Connection losses (the
// database restarting, the lock's connection dying) end the stream and start it again with backoff.
import pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { advisoryLockKey, TOOLKIT_LOCKS } from '../database/locks.js';
import { ArchipelagoError } from '../errors.js';
import type { Broker } from '../messaging/broker.js';
import type { ResolvedCdcUnit, ResolvedService } from '../service/types.js';
import { formatLsn, parseLsn } from './lsn.js';
import { relayMetrics, type RelayMetrics } from './relay-metrics.js';
import { checkLogical, checkTables, ensurePublication, ensureSlot, relayNames, slotPosition, watchedTables, type RelayNames, type SlotPosition, type WatchedTable } from './prepare.js';
import { atMost, ReplicationSession } from './stream.js';

export interface RelayOptions {
  readonly service: ResolvedService;
  readonly unit: ResolvedCdcUnit;
  readonly databaseUrl: string;
  readonly broker: Broker;
  readonly logger: Logger;
  readonly metrics?: Registry;
  /** Aborting it stops the relay with the unit's grace period. */
  readonly signal?: AbortSignal;
  /** How often a standby tries the lock and the lag is read. Default 1000 ms. */
  readonly pollMs?: number;
  /** Longest wait between reconnection attempts. Default 5000 ms. */
  readonly maxBackoffMs?: number;
  /** Messages per broker call. Default 500. */
  readonly batchSize?: number;
  /**
   * How long the database keeps the lead of a relay it hears nothing from (frozen, or its node
   * gone with the TCP connection left open): the lock session's idle_session_timeout. Default 6000 ms.
   */
  readonly leaseMs?: number;
}

export interface RelayStatus {
  readonly state: 'standby' | 'active' | 'stopped';
  readonly slot: string;
  readonly publication: string;
  /** WAL bytes written since the slot's confirmed position (null before the first reading). */
  readonly lagBytes: number | null;
  /** Seconds since the commit of the oldest change received but not yet accepted by the broker. */
  readonly lagSeconds: number;
  /** WAL bytes the slot retains. */
  readonly retainedBytes: number | null;
  readonly confirmedLsn: string | null;
  /** Changes this replica handed to the broker since it started. */
  readonly changesRelayed: number;
  readonly lastError: string | null;
}

export interface Relay {
  /** Stops reading, lets queued changes reach the broker for up to `graceMs`, releases the lock. */
  stop(graceMs: number): Promise<void>;
  status(): RelayStatus;
}

const LOCK_SQL = 'SELECT pg_try_advisory_lock($1::bigint) AS ok';
/** Ends the stream of a relay that lost the lead but whose walsender still holds the slot. */
const END_PREVIOUS_SQL = `SELECT active_pid AS pid, pg_terminate_backend(active_pid) AS ended FROM pg_replication_slots
  WHERE slot_name = $1 AND active_pid IS NOT NULL AND active_pid <> pg_backend_pid()`;
const SLOT_ACTIVE_SQL = 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active';

/** Checks the database can serve CDC (failing with a coded error if not), then runs the relay. */
export async function startRelay(o: RelayOptions): Promise<Relay> {
  const names = relayNames(o.service.name, o.unit.name);
  const tables = watchedTables(o.unit.tables);
  const pre = new pg.Client({ connectionString: o.databaseUrl, connectionTimeoutMillis: 10_000 });
  pre.on('error', () => {});
  try {
    await pre.connect();
  } catch (e) {
    throw new ArchipelagoError('ARCH_E_DATABASE', `cdc unit "${o.unit.name}": could not connect to the database: ${(e as Error).message}`);
  }
  try {
    await checkLogical(pre);
    await checkTables(pre, o.unit.name, tables);
  } finally {
    await pre.end().catch(() => {});
  }
  return new CdcRelay(o, names, tables);
}

class CdcRelay implements Relay {
  readonly #o: RelayOptions;
  readonly #names: RelayNames;
  readonly #tables: readonly WatchedTable[];
  readonly #log: Logger;
  readonly #metrics: RelayMetrics | undefined;
  readonly #labels: { service: string; unit: string };
  readonly #wake = new AbortController();
  readonly #loop: Promise<void>;
  #state: RelayStatus['state'] = 'standby';
  #session: ReplicationSession | undefined;
  #position: SlotPosition | undefined;
  #changes = 0;
  #lastError: string | null = null;
  #grace = 0;
  #stopped: Promise<void> | undefined;
  #lastRetainedWarning = 0;
  /** When the last round trip on the lock session that succeeded was sent. */
  #confirmedAt = 0;
  #warnedNoTimeout = false;

  constructor(o: RelayOptions, names: RelayNames, tables: readonly WatchedTable[]) {
    this.#o = o;
    this.#names = names;
    this.#tables = tables;
    this.#log = o.logger.child({ slot: names.slot });
    this.#metrics = o.metrics ? relayMetrics(o.metrics) : undefined;
    this.#labels = { service: o.service.name, unit: o.unit.name };
    o.signal?.addEventListener('abort', () => void this.stop(o.unit.graceMs), { once: true });
    this.#loop = this.#main();
  }

  get #stopping() { return this.#wake.signal.aborted; }

  status(): RelayStatus {
    const s = this.#session;
    const oldest = s?.oldestUnconfirmed;
    const confirmed = s && s.confirmed > 0n ? formatLsn(s.confirmed) : this.#position?.confirmedLsn ?? null;
    return {
      state: this.#state, slot: this.#names.slot, publication: this.#names.publication,
      lagBytes: this.#position?.lagBytes ?? null,
      lagSeconds: oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0,
      retainedBytes: this.#position?.retainedBytes ?? null,
      confirmedLsn: confirmed, changesRelayed: this.#changes, lastError: this.#lastError,
    };
  }

  stop(graceMs: number): Promise<void> {
    this.#stopped ??= (async () => {
      this.#grace = graceMs;
      this.#wake.abort();
      await this.#loop;
    })();
    return this.#stopped;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stopping) return resolve();
      const signal = this.#wake.signal;
      const done = () => { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); };
      const t = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #setState(state: RelayStatus['state']) {
    if (state === this.#state) return;
    this.#state = state;
    this.#metrics?.active.set(this.#labels, state === 'active' ? 1 : 0);
    this.#log.info({ state }, state === 'active' ? 'relay is active' : `relay is ${state}`);
  }

  #fail(e: unknown, what: string) {
    if (this.#stopping) return;
    this.#lastError = (e as Error)?.message ?? String(e);
    this.#log.warn({ err: this.#lastError }, what);
  }

  async #main(): Promise<void> {
    let delay = 250;
    const maxDelay = this.#o.maxBackoffMs ?? 5000;
    while (!this.#stopping) {
      const client = new pg.Client({ connectionString: this.#o.databaseUrl, application_name: `archipelago-cdc-${this.#o.unit.name}`, connectionTimeoutMillis: 5000, keepAlive: true, query_timeout: 15_000 });
      // The session lock lives as long as this connection: losing it means losing the lead.
      const lost = new Promise<never>((_, reject) => {
        client.on('error', reject);
        client.on('end', () => reject(new Error('the lock connection closed')));
      });
      lost.catch(() => {});
      let heartbeat: NodeJS.Timeout | undefined;
      try {
        await client.connect();
        await this.#limitSilence(client);
        heartbeat = setInterval(() => void this.#confirm(client).catch(() => {}), this.#leaseMs / 4);
        let waiting = false;
        while (!this.#stopping) {
          const { rows } = await client.query<{ ok: boolean }>(LOCK_SQL, [advisoryLockKey(TOOLKIT_LOCKS.cdcRelay(this.#names.slot))]);
          if (rows[0]?.ok) break;
          if (!waiting) this.#log.info({ state: 'standby' }, 'another replica is the active relay; waiting on standby');
          waiting = true;
          await this.#observe(client);
          await this.#sleep(this.#o.pollMs ?? 1000);
        }
        if (this.#stopping) break;
        delay = 250;
        await checkLogical(client);
        await ensurePublication(client, this.#names, this.#tables, this.#log);
        await ensureSlot(client, this.#names, this.#log);
        await this.#endPreviousStream(client);
        // Active once the slot exists: every change committed from here on will be relayed.
        this.#setState('active');
        await this.#lead(client, lost);
      } catch (e) {
        this.#fail(e, 'relay lost its database connection; reconnecting');
      } finally {
        clearInterval(heartbeat);
        this.#setState('standby');
        // Closing the connection releases the lock; a dead one may never confirm its end.
        await atMost(client.end(), 2000);
      }
      await this.#sleep(delay);
      delay = Math.min(delay * 2, maxDelay);
    }
    this.#setState('stopped');
  }

  /** Streams while holding the lock; a failed stream restarts from the slot's confirmed position. */
  async #lead(client: pg.Client, lost: Promise<never>): Promise<void> {
    let delay = 250;
    const maxDelay = this.#o.maxBackoffMs ?? 5000;
    const version = Number((await client.query<{ server_version_num: string }>('SHOW server_version_num')).rows[0]?.server_version_num ?? 0);
    while (!this.#stopping) {
      const pos = await this.#observe(client);
      const session = new ReplicationSession({
        messages: version >= 140000,
        databaseUrl: this.#o.databaseUrl, unit: this.#o.unit.name, slot: this.#names.slot, publication: this.#names.publication,
        tables: this.#tables, broker: this.#o.broker, logger: this.#log, batchSize: this.#o.batchSize,
        confirmedLsn: pos?.confirmedLsn ? parseLsn(pos.confirmedLsn) : 0n,
        onRelayed: (n) => { this.#changes += n; this.#metrics?.changes.inc(this.#labels, n); },
        fence: () => this.#fence(client),
      });
      this.#session = session;
      this.#log.debug({ from: pos?.confirmedLsn }, 'starting replication');
      const started = Date.now();
      const watching = new AbortController();
      let lockLost: unknown;
      const watch = (async () => {
        while (!watching.signal.aborted && !this.#stopping) {
          await this.#sleep(this.#o.pollMs ?? 1000);
          if (watching.signal.aborted || this.#stopping) return;
          await this.#observe(client);
        }
      })().catch((e: unknown) => { lockLost = e; throw e; });
      let onStop = () => {};
      const stopped = new Promise<void>((resolve) => { onStop = resolve; });
      this.#wake.signal.addEventListener('abort', onStop, { once: true });
      try {
        await Promise.race([session.run(), watch, lost.catch((e: unknown) => { lockLost = e; throw e; }), stopped]);
      } catch (e) {
        if (!lockLost) this.#fail(e, 'replication stream ended; restarting it');
      } finally {
        this.#wake.signal.removeEventListener('abort', onStop);
        watching.abort();
        this.#log.debug({ lockLost: Boolean(lockLost) }, 'closing the replication session');
        await session.close(this.#stopping ? this.#grace : 0);
        this.#log.debug('replication session closed');
        this.#session = undefined;
      }
      if (lockLost) throw lockLost;
      if (this.#stopping) return;
      if (Date.now() - started > 30_000) delay = 250;
      await this.#sleep(delay);
      delay = Math.min(delay * 2, maxDelay);
    }
  }

  get #leaseMs(): number { return this.#o.leaseMs ?? 6000; }

  /**
   * The fence, part one: the server ends the lock session (and so releases the lead) once it has
   * been silent for the lease, whatever happened to its TCP connection; the heartbeat keeps a live
   * relay's session busy four times per lease.
   */
  async #limitSilence(client: pg.Client): Promise<void> {
    try {
      await client.query(`SET idle_session_timeout = ${Math.round(this.#leaseMs)}`);
    } catch (e) {
      if (!this.#warnedNoTimeout) this.#log.warn({ err: (e as Error).message }, 'idle_session_timeout is not available (PostgreSQL < 14): a frozen relay keeps the lead until its connection dies');
      this.#warnedNoTimeout = true;
    }
  }

  async #confirm(client: pg.Client): Promise<void> {
    const sent = Date.now();
    await client.query('SELECT 1');
    this.#confirmedAt = Math.max(this.#confirmedAt, sent);
  }

  /**
   * The fence, part two: publish only while the lock session answered within the last quarter of
   * the lease. A relay resumed after a freeze finds its last answer old, asks again, and learns that
   * the server ended its session (another relay may lead by now) before it publishes anything.
   */
  async #fence(client: pg.Client): Promise<void> {
    if (Date.now() - this.#confirmedAt < this.#leaseMs / 4) return;
    await this.#confirm(client);
  }

  /** The new leader ends the walsender a frozen predecessor still holds the slot with, and waits until it is free. */
  async #endPreviousStream(client: pg.Client): Promise<void> {
    const { rows } = await client.query<{ pid: number; ended: boolean }>(END_PREVIOUS_SQL, [this.#names.slot]);
    if (rows.length === 0) return;
    this.#log.warn({ pid: rows[0]!.pid }, 'a previous relay still held the slot; ended its stream');
    const until = Date.now() + 30_000;
    while (Date.now() < until && !this.#stopping) {
      if ((await client.query(SLOT_ACTIVE_SQL, [this.#names.slot])).rowCount === 0) return;
      await this.#sleep(100);
    }
  }

  /** Reads the slot's position for lag metrics and status, and warns when it retains too much WAL. */
  async #observe(client: pg.Client): Promise<SlotPosition | undefined> {
    const pos = await slotPosition(client, this.#names.slot);
    this.#position = pos;
    if (!pos) return undefined;
    const st = this.status();
    this.#metrics?.lagBytes.set(this.#labels, pos.lagBytes);
    this.#metrics?.retainedBytes.set(this.#labels, pos.retainedBytes);
    this.#metrics?.lagSeconds.set(this.#labels, st.lagSeconds);
    const max = this.#o.unit.maxRetainedBytes;
    if (max > 0 && pos.retainedBytes > max && Date.now() - this.#lastRetainedWarning > 60_000) {
      this.#lastRetainedWarning = Date.now();
      this.#log.warn({ retainedBytes: pos.retainedBytes, maxRetainedBytes: max, state: this.#state },
        `replication slot ${this.#names.slot} retains ${pos.retainedBytes} bytes of WAL (more than ${max}); `
        + `if no relay will read it again, drop it: SELECT pg_drop_replication_slot('${this.#names.slot}')`);
    }
    return pos;
  }
}
