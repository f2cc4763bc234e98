// A few fault-replica processes started once per test file and lent to schedules, since a process
// costs about a second to start. When one exits, for whatever reason, the pool does what the
// supervisor does (Replica.onExit: release the dead holder's leases, start a replacement) and
// measures, where the broker can tell, how long the dead holder still held leases.
import { startFaultReplica, type Child } from './children.js';
import type { FaultCounts } from './faults.js';

export interface ReplicaProcess {
  readonly name: string;
  readonly child: Child;
  /** The lease holder id (`<replica>:<pid>`) the process reported when ready. */
  holder: string;
  ready: boolean;
  /** Lent to the running schedule. */
  inUse: boolean;
  frozen: boolean;
  /** The harness SIGKILLed it: its exit is expected. */
  killed: boolean;
}

/** The running schedule, told of every line a lent process writes and of every exit. */
export interface PoolWatcher {
  line(r: ReplicaProcess, line: string): void;
  died(r: ReplicaProcess, at: number): void;
}

export interface ReplicaPoolOptions {
  readonly size: number;
  readonly env: Record<string, string>;
  readonly counts: FaultCounts;
  /** The supervisor's path for a gone replica: Broker.releaseHolder. */
  releaseHolder(holder: string): Promise<number>;
  /** Leases `holder` has that have not run out, read from the broker; absent when it cannot tell (nats). */
  leasedBy?(holder: string): Promise<number>;
  /** How long after its exit a dead replica may still hold a lease. */
  readonly deadLeaseBoundMs: number;
}

interface Reply { accept(line: string): boolean; resolve(line: string): void; reject(e: Error): void }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ReplicaPool {
  private readonly members = new Set<ReplicaProcess>();
  private readonly replies = new Map<ReplicaProcess, Set<Reply>>();
  private readonly settling = new Set<Promise<void>>();
  private seq = 0;
  private failedStarts = 0;
  private closing = false;
  watcher: PoolWatcher | undefined;
  /** Names the running schedule in violations found outside it. */
  label = 'pool';

  constructor(private readonly o: ReplicaPoolOptions) {
    for (let i = 0; i < o.size; i++) this.spawn();
  }

  /** Resolves once every process of the pool has started. */
  async ready(timeoutMs = 120_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while ([...this.members].filter((m) => m.ready).length < this.o.size) {
      if (Date.now() > end || this.failedStarts >= 3) throw new Error(`replica processes did not start: ${this.o.counts.violations.join('; ')}`);
      await sleep(50);
    }
  }

  /** A started, idle process for the running schedule, if one is free. */
  take(): ReplicaProcess | undefined {
    const r = [...this.members].find((m) => m.ready && !m.inUse);
    if (r) r.inUse = true;
    return r;
  }

  give(r: ReplicaProcess): void { r.inUse = false; }

  alive(r: ReplicaProcess): boolean { return this.members.has(r); }

  /** Sends one command and resolves with the first reply line `accept` takes; rejects if the process exits first. */
  request(r: ReplicaProcess, cmd: object, accept: (line: string) => boolean, timeoutMs = 60_000): Promise<string> {
    if (!this.alive(r)) return Promise.reject(new Error(`${r.name} has exited`));
    return new Promise((resolve, reject) => {
      const set = this.replies.get(r)!;
      const t = setTimeout(() => { set.delete(reply); reject(new Error(`${r.name} did not answer ${JSON.stringify(cmd)} within ${timeoutMs} ms`)); }, timeoutMs);
      const reply: Reply = { accept, resolve: (l) => { clearTimeout(t); resolve(l); }, reject: (e) => { clearTimeout(t); reject(e); } };
      set.add(reply);
      r.child.send(JSON.stringify(cmd));
    });
  }

  kill(r: ReplicaProcess): void {
    r.killed = true;
    r.child.proc.kill('SIGKILL');
  }

  freeze(r: ReplicaProcess): void {
    r.frozen = true;
    r.child.proc.kill('SIGSTOP');
  }

  thaw(r: ReplicaProcess): void {
    if (this.alive(r)) r.child.proc.kill('SIGCONT');
    r.frozen = false;
  }

  /** Waits until every exit so far has been handled: leases released and measured, replacement started. */
  async settled(): Promise<void> {
    while (this.settling.size) await Promise.all([...this.settling]);
  }

  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.members];
    for (const r of all) r.child.proc.kill('SIGKILL');
    await Promise.all(all.map((r) => r.child.exited));
    await this.settled();
  }

  private spawn(): void {
    const name = `fault-replica-${++this.seq}`;
    const child = startFaultReplica({ ...this.o.env, FAULT_REPLICA: name });
    const r: ReplicaProcess = { name, child, holder: '', ready: false, inUse: false, frozen: false, killed: false };
    this.members.add(r);
    this.replies.set(r, new Set());
    child.onLine((line) => {
      if (line.startsWith('ready ')) { r.holder = line.slice('ready '.length); r.ready = true; this.failedStarts = 0; return; }
      for (const reply of this.replies.get(r)!) if (reply.accept(line)) { this.replies.get(r)!.delete(reply); reply.resolve(line); }
      this.watcher?.line(r, line);
    });
    void child.exited.then(() => {
      const p = this.exited(r).finally(() => this.settling.delete(p));
      this.settling.add(p);
    });
  }

  private async exited(r: ReplicaProcess): Promise<void> {
    const at = Date.now();
    this.members.delete(r);
    for (const reply of this.replies.get(r)!) reply.reject(new Error(`${r.name} exited`));
    this.replies.delete(r);
    if (this.closing) return;
    const { counts } = this.o;
    const { exitCode: code, signalCode: signal } = r.child.proc;
    const v = (s: string) => counts.violations.push(`${this.label}: ${r.name} ${s}`);
    if (!r.ready) {
      v(`did not start (${code ?? signal}): ${r.child.stderr()}`);
      if (++this.failedStarts < 3) this.spawn();
      return;
    }
    if (r.child.lines.some((l) => l.startsWith('overrun '))) {
      counts.overruns++;
      if (code !== 1) v(`overran a deadline but exited with ${code ?? signal}, not 1`);
      if (!/ARCH_E_HANDLER_OVERRUN/.test(r.child.stderr())) v('overran a deadline without an ARCH_E_HANDLER_OVERRUN line');
    } else if (!r.killed) {
      v(`exited on its own (${code ?? signal}): ${r.child.stderr()}`);
    }
    this.watcher?.died(r, at);
    // As the supervisor does for any replica process that is gone (Replica.onExit → releaseLeases).
    counts.releasedLeases += await this.o.releaseHolder(r.holder).catch((e: unknown) => { v(`: releasing its leases failed: ${(e as Error).message}`); return 0; });
    if (this.o.leasedBy) {
      let held = 0;
      while ((held = await this.o.leasedBy(r.holder)) > 0 && Date.now() - at < 30_000) await sleep(50);
      const ms = Date.now() - at;
      counts.maxDeadLeaseMs = Math.max(counts.maxDeadLeaseMs, ms);
      if (ms > this.o.deadLeaseBoundMs) v(`still held leases ${ms} ms after it died${held > 0 ? ` (${held} not yet released)` : ''}; the bound is ${this.o.deadLeaseBoundMs} ms`);
    }
    // The supervisor restarts a replica that died; here the new process serves later schedules.
    this.spawn();
  }
}
