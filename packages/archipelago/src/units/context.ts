// Builds the one context every unit's code receives: pool, logger, metrics, signal, config, publish.
import type pg from 'pg';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { createPool } from '../database/pool.js';
import { ArchipelagoError } from '../errors.js';
import type { Messaging } from '../messaging/messaging.js';
import type { ResolvedService, ResolvedUnit } from '../service/types.js';
import { logFields } from '../tracing/spans.js';
import type { UnitContext } from './define.js';
import { ENV } from './ipc.js';
import { registerProcessMetrics, registerUnroutedMetric } from './process-metrics.js';

/** Variables the toolkit itself defines; every unit may read them. */
const TOOLKIT_VARS = ['DATABASE_URL', 'NODE_ENV', 'PORT', 'LOG_LEVEL', 'TZ', ...Object.values(ENV)];

export interface ContextOptions {
  service: ResolvedService;
  unit: ResolvedUnit;
  replica: string;
  databaseUrl: string;
  messaging?: Messaging;
  /** A pool to share (single-process mode); the context then does not close it. */
  pool?: pg.Pool;
  /** Register Node's default process metrics; only one registry per process should. Default true. */
  defaultMetrics?: boolean;
  /** Where log lines go; stdout by default. */
  logStream?: pino.DestinationStream;
}

/** The context plus what only its host may do with it. */
export interface OwnedContext extends UnitContext {
  /** Aborts `signal`: the replica is shutting down. */
  abort(reason?: unknown): void;
  /** Closes what the context owns (pool, messaging). Idempotent. */
  close(): Promise<void>;
}

/** A unit's environment: its own `env`, the secrets it declares, the toolkit's variables. Nothing else. */
export function unitConfig(unit: ResolvedUnit, env: NodeJS.ProcessEnv, databaseUrl: string): Readonly<Record<string, string | undefined>> {
  const config: Record<string, string | undefined> = {};
  for (const name of TOOLKIT_VARS) if (env[name] !== undefined) config[name] = env[name];
  config.DATABASE_URL = databaseUrl;
  if ('port' in unit && config.PORT === undefined) config.PORT = String(unit.port);
  // A missing secret is absent (not a key holding undefined), as an unset variable is in a pod.
  for (const name of unit.secrets) if (env[name] !== undefined) config[name] = env[name];
  // The declaration's env wins over the process environment's: it is what synth renders.
  Object.assign(config, unit.env);
  return Object.freeze(config);
}

export function createLogger(base: { service: string; unit: string; replica: string }, stream?: pino.DestinationStream): Logger {
  // Synchronous writes: the last line before process.exit (what a drain cut) must not be lost.
  // A line written inside a span names its trace and span, so the console links it to the trace.
  return pino({ base: { ...base, pid: process.pid }, level: process.env.LOG_LEVEL ?? 'info', timestamp: pino.stdTimeFunctions.isoTime, mixin: logFields },
    stream ?? pino.destination({ fd: 1, sync: true }));
}

export function createContext(opts: ContextOptions): OwnedContext {
  const { service, unit, replica, messaging } = opts;
  const logger = createLogger({ service: service.name, unit: unit.name, replica }, opts.logStream);
  const metrics = new Registry();
  metrics.setDefaultLabels({ service: service.name, unit: unit.name, replica });
  registerProcessMetrics(metrics, { defaults: opts.defaultMetrics ?? true });
  // One registry per process reports the broker's counts (contexts in one process share a broker).
  if (messaging && (opts.defaultMetrics ?? true)) registerUnroutedMetric(metrics, () => messaging.broker.unrouted());
  const db = opts.pool ?? createPool(opts.databaseUrl, { application: `${service.name}/${replica}` });
  const controller = new AbortController();
  const noMessaging = () => new ArchipelagoError('ARCH_E_BROKER_UNAVAILABLE', `unit "${unit.name}": messaging is not available in this process`);
  let closing: Promise<void> | undefined;

  return {
    service, unit, replica, db, logger, metrics,
    signal: controller.signal,
    config: unitConfig(unit, process.env, opts.databaseUrl),
    publish: (topic, message, o) => (messaging ? messaging.publish(topic, message, o) : Promise.reject(noMessaging())),
    publishMany: (topic, messages, o) => (messaging ? messaging.publishMany(topic, messages, o) : Promise.reject(noMessaging())),
    broadcast: (topic, message) => (messaging ? messaging.broadcast(topic, message) : Promise.reject(noMessaging())),
    abort(reason) {
      if (!controller.signal.aborted) controller.abort(reason ?? new Error('the replica is shutting down'));
    },
    close() {
      // Every step runs even if one fails, and a second call keeps the first call's promise.
      closing ??= (async () => {
        if (messaging) await messaging.close().catch((e: unknown) => logger.warn({ err: e }, 'closing messaging failed'));
        if (!opts.pool) await db.end().catch((e: unknown) => logger.warn({ err: e }, 'closing the database pool failed'));
      })();
      return closing;
    },
  };
}
