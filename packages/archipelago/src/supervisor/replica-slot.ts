// One replica slot of a long-running unit: starts its process, follows its IPC reports, probes it
// (startup, readiness, liveness) and restarts it with CrashLoopBackOff-style back-off when it dies.
import type { Worker } from 'node:cluster';
import type { ResolvedService, ResolvedUnit } from '../service/types.js';
import { isReplicaMessage, type ReplicaMessage } from '../units/ipc.js';
import { holderId } from '../messaging/common.js';
import type { LogMux } from './logs.js';
import { backoffDelay, probe, type Tuning } from './probes.js';
import { schedStat, starved, type SchedReading } from './sched.js';
import { forkUnit, signal, terminate, exited } from './spawn.js';
import type { ReplicaStatus, SupervisorState } from './state.js';
import { HEALTH_PATHS } from '../contracts.js';

export interface ReplicaContext {
  service: ResolvedService;
  unit: ResolvedUnit;
  state: SupervisorState;
  logs: LogMux;
  tuning: Tuning;
  databaseUrl: string;
  /** Laid over each replica's environment (the trace receiver's endpoint). */
  replicaEnv?: Record<string, string>;
  /** Ends the leases a gone replica process held (its holder id), so its messages are redelivered now. */
  releaseLeases?: (holder: string) => Promise<number>;
}

/** Missed liveness probes (per failure of the threshold) not counted while the machine starves a replica. */
const STARVED_ALLOWANCE = 3;

export class ReplicaSlot {
  readonly status: ReplicaStatus;
  private worker: Worker | undefined;
  private crashes = 0;
  private removing = false;
  private timers = new Set<NodeJS.Timeout>();
  private startedMs = 0;
  private generation = 0;
  private stopped: Promise<void> | undefined;

  constructor(private readonly ctx: ReplicaContext, readonly slot: number) {
    const id = `${ctx.unit.name}-${slot}`;
    this.status = {
      id, slot, pid: null, state: 'starting', startedAt: null, adminPort: null, port: null,
      inFlight: 0, connections: 0, handled: 0, eventLoopLagMs: 0, cpu: null, memoryBytes: null,
      restarts: 0, backoffMs: null, nextStartAt: null, lastExit: null,
    };
  }

  get pid(): number | undefined { return this.worker?.process.pid; }
  /** Whether the busy-machine note was logged for this replica (once is enough). */
  private starvedNoted = false;
  get busy(): number { return this.status.inFlight + this.status.connections; }
  get live(): boolean { return this.worker !== undefined && !exited(this.worker); }

  start(): void {
    if (this.removing) return;
    const { service, unit, state, logs, tuning, databaseUrl } = this.ctx;
    const gen = ++this.generation;
    const s = this.status;
    Object.assign(s, { state: 'starting', adminPort: null, port: null, inFlight: 0, connections: 0, backoffMs: null, nextStartAt: null, cpu: null });
    delete s.cdc;
    const worker = forkUnit({ service, unit, replica: s.id, databaseUrl, exec: tuning.exec, extraEnv: this.ctx.replicaEnv });
    this.worker = worker;
    this.startedMs = Date.now();
    s.pid = worker.process.pid ?? null;
    s.startedAt = new Date().toISOString();
    logs.attach(worker.process.stdout, unit.name, s.id, 'stdout');
    logs.attach(worker.process.stderr, unit.name, s.id, 'stderr');
    worker.on('message', (m: unknown) => { if (gen === this.generation && isReplicaMessage(m)) this.onMessage(m); });
    worker.process.once('exit', (code, sig) => { if (gen === this.generation) this.onExit(code, sig); });
    this.startupProbe(gen, 0);
    state.changed(unit.name);
  }

  private onMessage(m: ReplicaMessage): void {
    const s = this.status;
    switch (m.type) {
      case 'arch:listening':
        s.adminPort = m.adminPort;
        s.port = m.port ?? null;
        break;
      case 'arch:ready':
        if (s.state === 'running' || s.state === 'unready') s.state = 'ready';
        break;
      case 'arch:load':
        s.inFlight = m.inFlight;
        s.connections = m.connections;
        s.handled = m.handled;
        s.eventLoopLagMs = m.eventLoopLagMs;
        s.requestRate = m.requestRate;
        s.p99Ms = m.p99Ms;
        if (m.cdc) s.cdc = m.cdc;
        break;
      case 'arch:draining':
        s.state = 'draining';
        break;
      case 'arch:log':
        this.ctx.logs.line(this.ctx.unit.name, s.id, 'stdout', m.line);
        return;
    }
    this.ctx.state.changed(this.ctx.unit.name);
  }

  private paths(): { liveness: string; readiness: string } {
    const u = this.ctx.unit;
    return 'health' in u ? u.health : HEALTH_PATHS;
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private startupProbe(gen: number, failures: number): void {
    const p = this.ctx.tuning.probes;
    this.later(async () => {
      if (gen !== this.generation || this.removing || this.status.state === 'draining') return;
      const ok = this.status.adminPort !== null && (await probe(this.status.adminPort, this.paths().liveness, p.timeoutMs));
      if (gen !== this.generation || this.removing) return;
      if (ok) {
        if (this.status.state === 'starting') this.status.state = 'running';
        this.ctx.state.changed(this.ctx.unit.name);
        this.readinessProbe(gen, 0, 0);
        this.livenessProbe(gen, 0);
      } else if (failures + 1 >= p.startupFailureThreshold) {
        this.ctx.logs.warn(`${this.status.id} failed its startup probe ${failures + 1} times; restarting it`, { unit: this.ctx.unit.name });
        this.kill('startup probe failed');
      } else this.startupProbe(gen, failures + 1);
    }, failures === 0 ? 50 : p.startupPeriodMs);
  }

  private readinessProbe(gen: number, failures: number, delay: number): void {
    const p = this.ctx.tuning.probes;
    this.later(async () => {
      if (gen !== this.generation || this.removing || this.status.adminPort === null) return;
      const ok = await probe(this.status.adminPort, this.paths().readiness, p.timeoutMs);
      if (gen !== this.generation || this.removing) return;
      const s = this.status;
      if (s.state !== 'draining') {
        const before = s.state;
        if (ok) s.state = 'ready';
        else if (failures + 1 >= p.readinessFailureThreshold || s.state !== 'ready') s.state = 'unready';
        if (s.state !== before) this.ctx.state.changed(this.ctx.unit.name);
      }
      this.readinessProbe(gen, ok ? 0 : failures + 1, p.readinessPeriodMs);
    }, delay);
  }

  private livenessProbe(gen: number, failures: number, since = this.cpuWait(), uncounted = 0): void {
    const p = this.ctx.tuning.probes;
    this.later(async () => {
      if (gen !== this.generation || this.removing || this.status.adminPort === null) return;
      if (this.status.state === 'draining') return;
      const ok = await probe(this.status.adminPort, this.paths().liveness, p.timeoutMs);
      if (gen !== this.generation || this.removing) return;
      const now = this.cpuWait();
      // A replica that spent most of the period waiting for a CPU (a busy machine, a background
      // unit under SCHED_IDLE) did not answer because it was not run, not because it is stuck: the
      // failure is not counted. A stuck replica (a busy loop, a deadlock) gets the CPU it asks for,
      // and one stuck on a machine that busy is still restarted after three times the usual
      // failures in a row.
      if (!ok && starved(since, now) && uncounted < STARVED_ALLOWANCE * p.livenessFailureThreshold) {
        if (!this.starvedNoted) this.ctx.logs.info(`${this.status.id} missed a liveness probe while waiting for a CPU most of the period (a busy machine); not counted`, { unit: this.ctx.unit.name });
        this.starvedNoted = true;
        this.livenessProbe(gen, failures, now, uncounted + 1);
        return;
      }
      if (!ok && failures + 1 >= p.livenessFailureThreshold) {
        this.ctx.logs.warn(`${this.status.id} failed its liveness probe ${failures + 1} times in a row; restarting it`, { unit: this.ctx.unit.name });
        this.kill('liveness probe failed');
        return;
      }
      this.livenessProbe(gen, ok ? 0 : failures + 1, now, ok ? 0 : uncounted);
    }, p.livenessPeriodMs);
  }

  /** The replica's main thread's run and wait times so far (sched.ts). */
  private cpuWait(): SchedReading | null {
    const pid = this.pid;
    return pid === undefined ? null : schedStat(pid);
  }

  /**
   * Restarts an unhealthy replica as a kubelet does: SIGTERM, the unit's whole grace to drain (its
   * in-flight work may still finish and be acknowledged), then SIGKILL.
   */
  private kill(reason: string): void {
    const w = this.worker;
    if (!w) return;
    this.pendingReason = reason;
    const graceMs = this.ctx.unit.graceMs;
    void terminate(w, graceMs).then((r) => {
      if (r.killed) this.ctx.logs.warn(`${this.status.id} did not stop within its grace (${graceMs} ms) and was killed`, { unit: this.ctx.unit.name });
    });
  }
  private pendingReason: string | undefined;

  private onExit(code: number | null, sig: NodeJS.Signals | null): void {
    this.clearTimers();
    const s = this.status;
    const ranMs = Date.now() - this.startedMs;
    const reason = this.pendingReason ?? (sig ? `killed by ${sig}` : `exited with code ${code}`);
    this.pendingReason = undefined;
    s.lastExit = { code, signal: sig, at: new Date().toISOString(), reason };
    if (s.pid !== null) this.releaseLeases(s.pid);
    s.pid = null;
    s.inFlight = 0;
    s.connections = 0;
    // A dead relay holds no lead: its last report must not show it active beside its successor.
    delete s.cdc;
    this.worker = undefined;
    if (this.removing) {
      if (!this.stopped) this.ctx.logs.info(`${s.id} ${reason} during shutdown`, { unit: this.ctx.unit.name });
      s.state = 'exited';
      this.ctx.state.changed(this.ctx.unit.name);
      return;
    }
    if (ranMs >= this.ctx.tuning.backoff.resetAfterMs) this.crashes = 0;
    this.crashes++;
    const delay = backoffDelay(this.crashes, this.ctx.tuning.backoff);
    s.state = 'backoff';
    s.backoffMs = delay;
    s.nextStartAt = new Date(Date.now() + delay).toISOString();
    this.ctx.logs.warn(`${s.id} ${reason}; restarting in ${delay} ms (back-off)`, { unit: this.ctx.unit.name, restarts: s.restarts + 1 });
    this.ctx.state.changed(this.ctx.unit.name);
    this.later(() => {
      if (this.removing) return;
      s.restarts++;
      this.start();
    }, delay);
  }

  /**
   * The supervisor is shutting down: from now on an exit is not a crash and is not restarted, and
   * probes stop, though the replica is only stopped when its unit's turn comes.
   */
  hold(): void {
    this.removing = true;
  }

  /** The process is gone, whatever ended it: nobody will finish or give back what it held. */
  private releaseLeases(pid: number): void {
    const { releaseLeases, logs, unit } = this.ctx;
    if (!releaseLeases || unit.kind !== 'worker') return;
    void releaseLeases(holderId(this.status.id, pid)).then(
      (n) => { if (n > 0) logs.info(`${this.status.id}: released ${n} message lease${n === 1 ? '' : 's'} it held`, { unit: unit.name }); },
      (e: unknown) => logs.warn(`${this.status.id}: could not release its message leases (they lapse on their own): ${(e as Error).message}`, { unit: unit.name }));
  }

  /** Takes the replica out for good: SIGTERM, its grace to drain, then SIGKILL. */
  stop(graceMs = this.ctx.unit.graceMs): Promise<void> {
    this.stopped ??= (async () => {
      this.removing = true;
      this.clearTimers();
      const w = this.worker;
      if (!w || exited(w)) {
        this.status.state = 'exited';
        this.ctx.state.changed(this.ctx.unit.name);
        return;
      }
      this.status.state = 'draining';
      this.ctx.state.changed(this.ctx.unit.name);
      const r = await terminate(w, graceMs);
      if (r.killed) this.ctx.logs.warn(`${this.status.id} did not stop within its grace (${graceMs} ms) and was killed`, { unit: this.ctx.unit.name });
    })();
    return this.stopped;
  }

  /** Last resort when the supervisor itself is going away. */
  forceKill(): void {
    if (this.worker) signal(this.worker, 'SIGKILL');
  }
}
