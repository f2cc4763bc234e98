// One replica process's lifecycle: the admin server, signals and IPC, load reports, and the one
// shutdown path every host kind shares (readiness off, drain within grace, exit 0 or 1).
import cluster from 'node:cluster';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { bindHost } from './bind.js';
import type { OwnedContext } from './context.js';
import { toSupervisor, type SupervisorMessage } from './ipc.js';
import { takeEventLoopLagMs, type CdcLoad, type LoadSample } from './process-metrics.js';

/** A running unit host inside a replica. */
export interface Host {
  readonly unit: string;
  /** The unit's own listening port, for kinds that listen. */
  readonly port?: number;
  /** Host-specific readiness (the replica adds "not draining"). */
  ready(): boolean;
  load(): LoadSample;
  /** Stops taking work and lets what is in flight finish by `deadline` (epoch ms); resolves to what was cut. */
  drain(deadline: number): Promise<string[]>;
  /** Releases the host's own resources after a clean drain. */
  close(): Promise<void>;
  /** For hosts that end on their own (tasks): the exit code they want. */
  readonly finished?: Promise<number>;
  /** True when the host's work failed, so even a drain within grace must exit non-zero. */
  failed?(): boolean;
}

export interface ReplicaOptions {
  logger: Logger;
  /** Drain budget: the longest grace of the units in this process. */
  graceMs: number;
  /** Admin port; undefined for no admin server, 0 for an ephemeral one. */
  adminPort?: number;
  /** Extra liveness and readiness paths (the unit's declared ones) besides /healthz and /readyz. */
  health?: { liveness: string; readiness: string }[];
  /** Ends the process; tests of the lifecycle never call it, the runner passes process.exit. */
  exit?: (code: number) => void;
}

/** How long a pool may fail every acquire before the replica reports itself not alive. */
export const POOL_STUCK_MS = 30_000;

export const DRAINING_BODY = { error: { code: 'DRAINING', message: 'this replica is shutting down; retry on another' } };

export class Replica {
  draining = false;
  adminPort: number | undefined;
  private readonly hosts: { host: Host; ctx: OwnedContext }[] = [];
  private readonly contexts = new Set<OwnedContext>();
  private readonly closers: (() => Promise<unknown>)[] = [];
  private admin: http.Server | undefined;
  private loadTimer: NodeJS.Timeout | undefined;
  private dbTimer: NodeJS.Timeout | undefined;
  private databaseUp = true;
  private poolStuck: (() => number) | undefined;
  private shuttingDown: Promise<number> | undefined;
  private readonly exit: (code: number) => void;
  private readonly livenessPaths: Set<string>;
  private readonly readinessPaths: Set<string>;

  constructor(private readonly opts: ReplicaOptions) {
    this.exit = opts.exit ?? ((code) => process.exit(code));
    this.livenessPaths = new Set(['/healthz', ...(opts.health ?? []).map((h) => h.liveness)]);
    this.readinessPaths = new Set(['/readyz', ...(opts.health ?? []).map((h) => h.readiness)]);
  }

  /** SIGTERM, SIGINT and the supervisor's drain all take the same path; a lost supervisor ends us at once. */
  installSignals(): void {
    const onSignal = (signal: string) => () => void this.shutdown(signal);
    process.on('SIGTERM', onSignal('SIGTERM'));
    // Under `archipelago up` a terminal's Ctrl-C reaches every process of the group at once; the
    // supervisor gets it too and stops the units one after another (SIGTERM), so we ignore it here.
    process.on('SIGINT', cluster.isWorker ? () => {} : onSignal('SIGINT'));
    process.on('message', (m: SupervisorMessage) => {
      if (m && typeof m === 'object' && m.type === 'arch:drain') void this.shutdown('drain requested by the supervisor');
    });
    // A crash still leaves one JSON line saying why, for the supervisor's log view and for kubectl logs.
    process.on('uncaughtException', (err) => {
      this.opts.logger.fatal({ err }, `uncaught exception: ${err.message}`);
      this.exit(1);
    });
    process.on('unhandledRejection', (reason) => {
      this.opts.logger.fatal({ err: reason }, `unhandled rejection: ${(reason as Error)?.message ?? String(reason)}`);
      this.exit(1);
    });
    process.once('disconnect', () => {
      // The supervisor is gone (perhaps SIGKILLed): nobody routes to us or restarts us, so do not linger.
      this.opts.logger.warn('the supervisor disconnected; exiting');
      this.exit(this.draining ? 1 : 0);
    });
  }

  /** Registers a context so shutdown aborts and closes it, even before its host has started. */
  track(ctx: OwnedContext): void {
    this.contexts.add(ctx);
    if (this.draining) ctx.abort();
  }

  add(host: Host, ctx: OwnedContext): void {
    this.track(ctx);
    this.hosts.push({ host, ctx });
    if (host.finished) {
      // During a drain the shutdown path decides the exit code.
      void host.finished.then((code) => (this.draining ? undefined : this.finish(code, `unit "${host.unit}" finished`)));
    }
  }

  /** Runs after every host and context has closed (shared pools, brokers). */
  onClosed(fn: () => Promise<unknown>): void {
    this.closers.push(fn);
  }

  isReady(): boolean {
    return !this.draining && this.databaseUp && this.hosts.length > 0 && this.hosts.every((h) => h.host.ready());
  }

  /**
   * Alive unless the unit's pool has failed every acquire for POOL_STUCK_MS: connections held by
   * stuck work do not come back by themselves, and a restart (the liveness probe's answer) frees them.
   */
  isAlive(): boolean {
    return (this.poolStuck?.() ?? 0) < POOL_STUCK_MS;
  }

  watchPool(stuckMs: () => number): void {
    this.poolStuck = stuckMs;
  }

  /** What a readiness probe's 503 says. */
  notReadyStatus(): string {
    return this.draining ? 'draining' : this.databaseUp ? 'starting' : 'database unavailable';
  }

  /**
   * Runs `check` (a query through the unit's pool) every second: while it fails or takes more than
   * `timeoutMs`, the replica is not ready, so that traffic goes elsewhere and `status` shows it.
   */
  watchDatabase(check: () => Promise<unknown>, timeoutMs = 5000): void {
    const run = async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); });
      const up = await Promise.race([check(), late]).then(() => true, (e: unknown) => {
        if (this.databaseUp) this.opts.logger.warn({ err: (e as Error).message }, 'the database is unavailable; not ready until it answers');
        return false;
      });
      clearTimeout(timer);
      if (up && !this.databaseUp) this.opts.logger.info('the database answers again; ready');
      this.databaseUp = up;
      if (!this.draining) this.dbTimer = setTimeout(() => void run(), 1000).unref();
    };
    this.dbTimer = setTimeout(() => void run(), 1000).unref();
  }

  /** Every unit's metrics in this process (one registry in the usual one-unit replica). */
  async metrics(): Promise<{ contentType: string; body: string }> {
    const regs = [...this.contexts].map((c) => c.metrics);
    if (regs.length === 1) return { contentType: regs[0]!.contentType, body: await regs[0]!.metrics() };
    const merged = AggregatorRegistry.aggregate(await Promise.all(regs.map((r) => r.getMetricsAsJSON())));
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  /** Starts the admin server; the supervisor probes each replica here even when the unit's port is shared. */
  async startAdmin(): Promise<number | undefined> {
    if (this.opts.adminPort === undefined) return undefined;
    const server = http.createServer((req, res) => void this.serveAdmin(req, res));
    this.admin = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: under Node's cluster a worker's listen is otherwise shared through the primary,
      // and every replica would get the same "ephemeral" port.
      server.listen({ port: this.opts.adminPort, host: bindHost(), exclusive: true }, () => resolve());
    });
    server.unref();
    this.adminPort = (server.address() as AddressInfo).port;
    return this.adminPort;
  }

  private async serveAdmin(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    try {
      if (this.livenessPaths.has(path)) return this.isAlive() ? send(200, { status: 'ok' }) : send(503, { status: 'database pool exhausted' });
      if (this.readinessPaths.has(path)) return this.isReady() ? send(200, { status: 'ready' }) : send(503, { status: this.notReadyStatus() });
      if (path === '/metrics') {
        const m = await this.metrics();
        return send(200, m.body, m.contentType);
      }
      send(404, { error: { code: 'NOT_FOUND', message: `no admin route ${path}` } });
    } catch (e) {
      send(500, { error: { code: 'INTERNAL', message: (e as Error).message } });
    }
  }

  /** Tells the supervisor where to probe, that we are ready, and then our load every second. */
  announce(): void {
    const port = this.hosts.find((h) => h.host.port !== undefined)?.host.port;
    toSupervisor({ type: 'arch:listening', adminPort: this.adminPort ?? 0, ...(port !== undefined ? { port } : {}) });
    toSupervisor({ type: 'arch:ready' });
    this.loadTimer = setInterval(() => this.reportLoad(), 1000);
    this.loadTimer.unref();
  }

  private reportLoad(): void {
    const total: { inFlight: number; connections: number; handled: number; requestRate: number; p99Ms: number; cdc?: CdcLoad } = { inFlight: 0, connections: 0, handled: 0, requestRate: 0, p99Ms: 0 };
    for (const { host } of this.hosts) {
      const l = host.load();
      if (l.cdc) total.cdc ??= l.cdc;
      total.inFlight += l.inFlight;
      total.connections += l.connections;
      total.handled += l.handled;
      total.requestRate += l.requestRate ?? 0;
      total.p99Ms = Math.max(total.p99Ms, l.p99Ms ?? 0);
    }
    toSupervisor({ type: 'arch:load', ...total, eventLoopLagMs: takeEventLoopLagMs() });
  }

  /** The one shutdown path. Idempotent: a second signal keeps the first shutdown's promise. */
  shutdown(reason: string): Promise<number> {
    this.shuttingDown ??= this.runShutdown(reason);
    return this.shuttingDown;
  }

  private async runShutdown(reason: string): Promise<number> {
    const { logger, graceMs } = this.opts;
    this.draining = true;
    toSupervisor({ type: 'arch:draining' });
    logger.info({ reason, graceMs }, 'draining');
    const deadline = Date.now() + graceMs;
    for (const ctx of this.contexts) ctx.abort();
    const cuts = (await Promise.all(this.hosts.map(({ host }) =>
      host.drain(deadline).catch((e: unknown) => [`unit "${host.unit}": drain failed: ${(e as Error).message}`])))).flat();
    if (cuts.length > 0) {
      logger.error({ code: 'ARCH_E_DRAIN_TIMEOUT', graceMs, cut: cuts }, `grace of ${graceMs} ms ran out: cut ${cuts.join(', ')}`);
      return this.finish(1);
    }
    await this.closeAll(deadline);
    const failed = this.hosts.some(({ host }) => host.failed?.() ?? false);
    logger.info({ failed }, 'drained');
    return this.finish(failed ? 1 : 0);
  }

  private async closeAll(deadline: number): Promise<void> {
    const left = Math.max(100, deadline - Date.now());
    const all = (async () => {
      await Promise.all(this.hosts.map(({ host }) => host.close().catch((e: unknown) => this.opts.logger.warn({ err: e }, `closing unit "${host.unit}" failed`))));
      await Promise.all([...this.contexts].map((c) => c.close()));
      for (const fn of this.closers) await fn().catch((e: unknown) => this.opts.logger.warn({ err: e }, 'closing a shared resource failed'));
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => { timer = setTimeout(r, left); })]);
    clearTimeout(timer);
  }

  /**
   * Work that ignores its deadline cannot be drained: exit 1 at once, as a failed liveness probe
   * would have the replica killed, so that it is restarted. Its messages' leases are released by
   * whoever restarts it (or lapse), never while this process still runs their handlers.
   */
  abandon(): void {
    this.draining = true;
    clearInterval(this.loadTimer);
    this.exit(1);
  }

  /** A task finished on its own: release resources, then exit with its code. */
  private async finish(code: number, why?: string): Promise<number> {
    if (why && !this.draining) {
      this.draining = true;
      await this.closeAll(Date.now() + this.opts.graceMs);
    }
    clearInterval(this.loadTimer);
    clearTimeout(this.dbTimer);
    this.admin?.close();
    this.exit(code);
    return code;
  }
}
