// Each replica's CPU and memory as the OS reports them (pidusage reads /proc), in the units the HPA
// arithmetic takes: CPU as a fraction of one core over the interval since the last reading, memory
// as resident bytes (the nearest local stand-in for the working set metrics-server reports).
import pidusage from 'pidusage';
import type { ReplicaUsage } from '../scaling/index.js';

export interface MeasuredReplica { readonly pid: number; readonly ready: boolean }

/**
 * Reads usage per replica, remembering per pid whether the previous reading was taken while the
 * replica was ready. A CPU reading counts only when its whole window lies after readiness, as the
 * HPA ignores a pod's CPU sample whose window began before the pod became ready: otherwise the cost
 * of starting (loading and compiling the entry) reads as load and every fresh replica scales out.
 */
export class UsageMeter {
  private readonly readyBefore = new Map<number, boolean>();

  async measure(replicas: readonly MeasuredReplica[]): Promise<(ReplicaUsage & { pid: number })[]> {
    if (replicas.length === 0) return [];
    const stats: Record<number, { cpu: number; memory: number } | undefined> = await pidusage(replicas.map((r) => r.pid)).catch(() => ({}));
    const seen = new Set<number>();
    const out = replicas.map((r) => {
      seen.add(r.pid);
      const s = stats[r.pid];
      const windowAfterReady = this.readyBefore.get(r.pid) === true;
      this.readyBefore.set(r.pid, r.ready && s !== undefined);
      // pidusage reports percent of one core over the window: 28 means 0.28 cores, i.e. 280m.
      return { pid: r.pid, ready: r.ready, cpuCores: s && windowAfterReady ? s.cpu / 100 : null, memoryBytes: s ? s.memory : null };
    });
    for (const pid of this.readyBefore.keys()) if (!seen.has(pid)) this.readyBefore.delete(pid);
    return out;
  }

  /** Forgets the readings kept between calls (pidusage keeps per-pid history). */
  clear(): void {
    this.readyBefore.clear();
    pidusage.clear();
  }
}
