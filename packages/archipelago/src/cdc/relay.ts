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
import { relayMetrics, type RelayMetrics } from './metrics.js';
import { checkLogical, checkTables, ensurePublication, ensureSlot, relayNames, slotPosition, watchedTables, type RelayNames, type SlotPosition, type WatchedTable } from './setup.js';
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
      try {
        await client.connect();
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
        // Active once the slot exists: every change committed from here on will be relayed.
        this.#setState('active');
        await this.#lead(client, lost);
      } catch (e) {
        this.#fail(e, 'relay lost its database connection; reconnecting');
      } finally {
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
    while (!this.#stopping) {
      const pos = await this.#observe(client);
      const session = new ReplicationSession({
        databaseUrl: this.#o.databaseUrl, unit: this.#o.unit.name, slot: this.#names.slot, publication: this.#names.publication,
        tables: this.#tables, broker: this.#o.broker, logger: this.#log, batchSize: this.#o.batchSize,
        confirmedLsn: pos?.confirmedLsn ? parseLsn(pos.confirmedLsn) : 0n,
        onRelayed: (n) => { this.#changes += n; this.#metrics?.changes.inc(this.#labels, n); },
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
