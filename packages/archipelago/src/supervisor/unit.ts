// A long-running unit (api, realtime, worker, cdc): its replica slots and the desired count.
// Scale-out fills the lowest free slot; scale-in drains the least busy replicas first.
import type { ReplicaContext } from './replica-slot.js';
import { ReplicaSlot } from './replica-slot.js';
import type { UnitStatus } from './state.js';

export class UnitRunner {
  private readonly slots: ReplicaSlot[] = [];
  private readonly draining = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly ctx: ReplicaContext, readonly status: UnitStatus) {}

  get name(): string { return this.ctx.unit.name; }
  get replicas(): readonly ReplicaSlot[] { return this.slots; }
  get desired(): number { return this.status.replicas.desired; }

  /** Starts or stops replicas until `n` run. */
  setDesired(n: number): void {
    if (this.stopping) return;
    this.status.replicas.desired = n;
    while (this.slots.length < n) {
      const used = new Set(this.slots.map((s) => s.slot));
      let slot = 1;
      while (used.has(slot)) slot++;
      const r = new ReplicaSlot(this.ctx, slot);
      this.slots.push(r);
      this.status.replicaList.push(r.status);
      this.status.replicaList.sort((a, b) => a.slot - b.slot);
      r.start();
    }
    if (this.slots.length > n) {
      // Least busy first; among equals, the ones not ready (no work to lose), then the newest.
      const order = [...this.slots].sort((a, b) => a.busy - b.busy || rank(a) - rank(b) || b.slot - a.slot);
      for (const r of order.slice(0, this.slots.length - n)) this.remove(r);
    }
    this.ctx.state.changed(this.name);
  }

  private remove(r: ReplicaSlot): void {
    this.slots.splice(this.slots.indexOf(r), 1);
    const p = r.stop().then(() => {
      this.ctx.state.retire(this.name, r.status);
      this.draining.delete(p);
    });
    this.draining.add(p);
  }

  /** Shutdown has begun: no replica of this unit is started or restarted any more. */
  hold(): void {
    this.stopping = true;
    for (const r of this.slots) r.hold();
  }

  /** Stops every replica within the unit's grace; resolves when all are gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.status.replicas.desired = 0;
    for (const r of [...this.slots]) this.remove(r);
    await Promise.all([...this.draining]);
    this.ctx.state.changed(this.name);
  }

  forceKill(): void {
    for (const r of this.slots) r.forceKill();
  }
}

function rank(r: ReplicaSlot): number {
  return r.status.state === 'ready' ? 1 : 0;
}
