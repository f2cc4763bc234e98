// Runs unit hosts in this process: one replica (`archipelago run <unit>`, the container entrypoint)
// or several units sharing one process (`archipelago up --single-process`).
import os from 'node:os';
import type { Logger } from 'pino';
import { createPool, poolStuckMs } from '../database/pool.js';
import { startTracing } from '../tracing/sdk.js';
import { ArchipelagoError } from '../errors.js';
import type { Messaging } from '../messaging/messaging.js';
import { createBroker, createMessaging, holderId } from '../messaging/index.js';
import { loadDefinition } from '../service/catalog.js';
import { runsIn } from '../service/environments.js';
import { unitByName } from '../service/load.js';
import type { ResolvedCdcUnit, ResolvedService, ResolvedUnit } from '../service/types.js';
import { startApiHost } from './api.js';
import { createContext, createLogger, type OwnedContext } from './context.js';
import { ENV } from './ipc.js';
import { ADMIN_PORT } from '../contracts.js';
import { kindOf, listens, longRunning } from '../service/kinds.js';
import { Replica, type Host } from './replica.js';
import { startRealtimeHost } from './realtime.js';
import { startTaskHost } from './task.js';
import { startWorkerHost } from './worker.js';

export interface RunOptions {
  service: ResolvedService;
  unit: string | ResolvedUnit;
  /** Replica id; defaults to ARCHIPELAGO_REPLICA, else the host name (the pod name on Kubernetes). */
  replica?: string;
  /** Arguments after `--`, given to a task's `run`. */
  args?: readonly string[];
  databaseUrl: string;
  /** Process exit; defaults to process.exit. */
  exit?: (code: number) => void;
}

/** Kubernetes probes and scrapes kinds without a port of their own here. */
export const DEFAULT_ADMIN_PORT = ADMIN_PORT;

function adminPortFor(units: readonly ResolvedUnit[]): number | undefined {
  const raw = process.env[ENV.adminPort];
  if (raw !== undefined && raw !== '') {
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ArchipelagoError('ARCH_E_USAGE', `${ENV.adminPort} (${raw}) must be a port number`);
    return port;
  }
  // A listening unit serves its probes on its own port; a short-lived task needs none.
  return units.some((u) => longRunning(u) && !listens(u)) && !units.some(listens) ? DEFAULT_ADMIN_PORT : undefined;
}

async function startHost(unit: ResolvedUnit, ctx: OwnedContext, replica: Replica, args: readonly string[], messaging: Messaging | undefined): Promise<Host> {
  if (unit.kind === 'cdc') return startCdcHost(unit, ctx, messaging);
  const def = await loadDefinition(unit);
  if (!def) throw new ArchipelagoError('ARCH_E_ENTRY_NOT_FOUND', `units[${unit.index}] "${unit.name}": has no entry file`);
  switch (unit.kind) {
    case 'api': if (def.kind === 'api') return startApiHost(unit, def, ctx, replica); break;
    case 'cron': case 'job': if (def.kind === 'task') return startTaskHost(unit, def, ctx, args); break;
    case 'realtime': if (def.kind === 'realtime') return startRealtimeHost(unit, def, ctx, replica, messaging); break;
    case 'worker': if (def.kind === 'worker') return startWorkerHost(unit, def, ctx, messaging); break;
  }
  // loadDefinition already checked the kind; this guards the pairing above.
  throw new ArchipelagoError('ARCH_E_ENTRY_EXPORT', `units[${unit.index}] "${unit.name}": entry does not fit a ${unit.kind} unit`);
}

async function startCdcHost(unit: ResolvedCdcUnit, ctx: OwnedContext, messaging: Messaging | undefined): Promise<Host> {
  if (!messaging) throw new ArchipelagoError('ARCH_E_BROKER_UNAVAILABLE', `unit "${unit.name}": the cdc relay needs a broker to publish to`);
  const { startRelay } = await import('../cdc/index.js');
  const relay = await startRelay({
    service: ctx.service, unit, databaseUrl: ctx.config.DATABASE_URL!, broker: messaging.broker,
    logger: ctx.logger, metrics: ctx.metrics, signal: ctx.signal,
  });
  let cut = false;
  return {
    unit: unit.name, ready: () => true,
    load: () => {
      const s = relay.status();
      return { inFlight: 0, connections: 0, handled: s.changesRelayed, cdc: { state: s.state, lagBytes: s.lagBytes, lagSeconds: s.lagSeconds, changesRelayed: s.changesRelayed } };
    },
    async drain(deadline) {
      let timer: NodeJS.Timeout | undefined;
      const grace = Math.max(0, deadline - Date.now());
      const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), grace + 50); });
      cut = (await Promise.race([relay.stop(grace).then(() => 'ok' as const), late])) === 'late';
      clearTimeout(timer);
      return cut ? ['the change relay (unconfirmed changes will be replayed)'] : [];
    },
    close: async () => {},
  };
}

/** Broker background loops keep retrying; they report here. */
function brokerWarn(logger: Logger) {
  return (msg: string, err?: unknown) => logger.warn({ err }, msg);
}

/**
 * The pool and broker a replica's units share, closed by the replica last (broker, then pool), and
 * watched by its readiness. The broker's tables, stream and connections are ready before any unit's
 * code runs: set up lazily on a first publish, they would need a connection from the pool that
 * code may have exhausted.
 */
async function openShared(service: ResolvedService, replica: Replica, replicaId: string, logger: Logger, databaseUrl: string, max?: number) {
  const pool = createPool(databaseUrl, { application: `${service.name}/${replicaId}`, ...(max ? { max } : {}) });
  const broker = createBroker(service, { databaseUrl, pool, warn: brokerWarn(logger), holder: holderId(replicaId) });
  replica.onClosed(() => broker.close());
  replica.onClosed(() => pool.end());
  replica.watchDatabase(() => pool.query('SELECT 1'));
  replica.watchPool(() => poolStuckMs(pool));
  await broker.init();
  return { pool, broker };
}

/** Runs one replica of a unit in this process until it is drained or, for tasks, finished. */
export async function runUnit(opts: RunOptions): Promise<Replica> {
  const { service } = opts;
  const unit = typeof opts.unit === 'string' ? unitByName(service, opts.unit) : opts.unit;
  // A pod knows its environment (synth sets it); a local-only unit started there by hand is refused.
  const environment = process.env[ENV.environment];
  if (environment && !runsIn(unit, environment)) {
    throw new ArchipelagoError('ARCH_E_USAGE', `unit "${unit.name}" does not exist in environment "${environment}" (environments: ${unit.environments!.join(', ')})`);
  }
  const replicaId = opts.replica ?? process.env[ENV.replica] ?? os.hostname();
  const logger = createLogger({ service: service.name, unit: unit.name, replica: replicaId });
  const replica = new Replica({
    logger, graceMs: unit.graceMs, adminPort: adminPortFor([unit]), exit: opts.exit,
    health: 'health' in unit ? [unit.health] : [],
  });
  replica.installSignals();
  // Before anything makes a span; shut down last, so the spans of the drain are exported too.
  const tracing = await startTracing({ service: service.name, unit: unit.name, replica: replicaId });
  if (tracing.enabled) logger.info({ endpoint: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT }, 'tracing on: exporting spans over OTLP/HTTP');
  const { pool, broker } = await openShared(service, replica, replicaId, logger, opts.databaseUrl);
  const messaging = createMessaging(broker, { unit: unit.name, logger, onOverrun: () => replica.abandon() });
  const ctx = createContext({ service, unit, replica: replicaId, databaseUrl: opts.databaseUrl, messaging, pool });
  replica.track(ctx);
  await replica.startAdmin();
  const host = await startHost(unit, ctx, replica, opts.args ?? [], messaging);
  replica.add(host, ctx);
  replica.onClosed(() => tracing.shutdown());
  replica.announce();
  return replica;
}

export interface InProcessOptions {
  databaseUrl: string;
  replica?: string;
  exit?: (code: number) => void;
  /** Drain on SIGINT/SIGTERM by itself (default); false when the caller owns the signals and calls `shutdown`. */
  signals?: boolean;
}

/** Starts several long-running units in ONE process, each with its own context and logger, sharing a pool and broker. */
export async function runInProcess(service: ResolvedService, unitNames: readonly string[], opts: InProcessOptions): Promise<Replica> {
  const units = unitNames.map((n) => unitByName(service, n));
  for (const u of units) {
    if (!kindOf(u).sharesProcess) throw new ArchipelagoError('ARCH_E_USAGE', `unit "${u.name}" is a ${u.kind}: it runs in its own process, not in a shared one`);
  }
  const replicaId = opts.replica ?? process.env[ENV.replica] ?? `${service.name}-0`;
  const logger = createLogger({ service: service.name, unit: '*', replica: replicaId });
  const replica = new Replica({
    logger, graceMs: Math.max(0, ...units.map((u) => u.graceMs)), adminPort: adminPortFor(units), exit: opts.exit,
    health: units.flatMap((u) => ('health' in u ? [u.health] : [])),
  });
  if (opts.signals !== false) replica.installSignals();
  const { pool, broker } = await openShared(service, replica, replicaId, logger, opts.databaseUrl, 10 + 5 * units.length);
  await replica.startAdmin();
  for (const [i, unit] of units.entries()) {
    const messaging = createMessaging(broker, { unit: unit.name, logger: logger.child({ unit: unit.name }), onOverrun: () => replica.abandon() });
    const ctx = createContext({ service, unit, replica: replicaId, databaseUrl: opts.databaseUrl, messaging, pool, defaultMetrics: i === 0 });
    replica.track(ctx);
    replica.add(await startHost(unit, ctx, replica, [], messaging), ctx);
  }
  replica.announce();
  return replica;
}
