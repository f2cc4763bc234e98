// A unit's host started in the test's own process, as a replica would run it (the api's Fastify
// app listening, a realtime unit's WebSocket server, a worker's subscriptions), on a broker the
// test owns (the in-memory one unless it passes another): for tests that need the real host
// rather than `apiApp()`'s injectable app.
import { Writable } from 'node:stream';
import { ArchipelagoError } from '../errors.js';
import { createMemoryBroker } from '../messaging/brokers/memory.js';
import type { Broker } from '../messaging/broker.js';
import type { Messaging } from '../messaging/messaging.js';
import { createMessaging } from '../messaging/runtime.js';
import { loadDefinition } from '../service/catalog.js';
import { unitByName } from '../service/load.js';
import type { ResolvedService, ResolvedUnit } from '../service/types.js';
import { startApiHost } from '../units/api.js';
import { createContext, type OwnedContext } from '../units/context.js';
import type { UnitDefinition } from '../units/define.js';
import { startRealtimeHost } from '../units/realtime.js';
import { Replica, type Host } from '../units/replica.js';
import { startWorkerHost } from '../units/worker.js';

export interface UnitHostOptions {
  service: ResolvedService;
  /** The unit (or its name) to host: an api, realtime or worker unit. */
  unit: string | ResolvedUnit;
  databaseUrl: string;
  /** The definition to host instead of the unit's entry file's default export. */
  definition?: UnitDefinition;
  /** Default the in-memory broker, closed with the host. */
  broker?: Broker;
  /** Listening units listen here; default 0 (any free port). */
  port?: number;
  /** Keep the host's log lines (default: dropped). */
  logs?: boolean;
}

export interface UnitHost {
  readonly ctx: OwnedContext;
  readonly messaging: Messaging;
  /** The listening port of an api or realtime unit. */
  readonly port: number | undefined;
  close(): Promise<void>;
}

export async function startUnitHost(opts: UnitHostOptions): Promise<UnitHost> {
  const declared = typeof opts.unit === 'string' ? unitByName(opts.service, opts.unit) : opts.unit;
  const unit = ('port' in declared ? { ...declared, port: opts.port ?? 0 } : declared) as ResolvedUnit;
  const def = opts.definition ?? (await loadDefinition(unit));
  const quiet = opts.logs ? undefined : new Writable({ write(_c, _e, cb) { cb(); } });
  const replicaId = `${unit.name}-test`;
  const base = createContext({ service: opts.service, unit, replica: replicaId, databaseUrl: opts.databaseUrl, defaultMetrics: false, logStream: quiet });
  const messaging = createMessaging(opts.broker ?? createMemoryBroker(), { unit: unit.name, logger: base.logger });
  await base.close();
  const ctx = createContext({ service: opts.service, unit, replica: replicaId, databaseUrl: opts.databaseUrl, messaging, defaultMetrics: false, logStream: quiet });
  const replica = new Replica({ logger: ctx.logger, graceMs: unit.graceMs, exit: () => {} });
  let host: Host;
  try {
    if (unit.kind === 'api' && def?.kind === 'api') host = await startApiHost(unit, def, ctx, replica);
    else if (unit.kind === 'realtime' && def?.kind === 'realtime') host = await startRealtimeHost(unit, def, ctx, replica, messaging);
    else if (unit.kind === 'worker' && def?.kind === 'worker') host = await startWorkerHost(unit, def, ctx, messaging);
    else throw new ArchipelagoError('ARCH_E_USAGE', `startUnitHost: unit "${unit.name}" (${unit.kind}) with a ${def?.kind ?? 'missing'} definition cannot be hosted in a test (api, realtime and worker units can)`);
  } catch (e) {
    await ctx.close();
    await messaging.close();
    throw e;
  }
  return {
    ctx, messaging, port: host.port,
    async close() {
      await host.close();
      await ctx.close();
      await messaging.close();
    },
  };
}
