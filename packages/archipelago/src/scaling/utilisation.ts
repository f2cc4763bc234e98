// Resource utilisation as the HPA computes it (pkg/controller/podautoscaler/metrics/utilization.go):
// the ready replicas' usage summed over their requests summed, in whole percent.

/** One replica's usage as the OS reports it. `cpuCores` is a fraction of one core (0.28 = 280m). */
export interface ReplicaUsage {
  readonly ready: boolean;
  readonly cpuCores: number | null;
  readonly memoryBytes: number | null;
}

export interface Requests { readonly cpuMillis: number; readonly memoryBytes: number }

/**
 * `cpuPercent` and `memoryPercent` for a unit: Σ usage × 100 ÷ Σ request over the ready replicas
 * that reported usage, truncated to an integer as the HPA's `int32(...)` does. CPU is counted in
 * whole millicores, as metrics-server reports it. Null when no ready replica has a reading (the
 * HPA then has no metric for the round).
 */
export function utilisation(replicas: readonly ReplicaUsage[], requests: Requests): { cpuPercent: number | null; memoryPercent: number | null } {
  let cpuMillis = 0, cpuRequests = 0, memory = 0, memoryRequests = 0;
  for (const r of replicas) {
    if (!r.ready) continue;
    if (r.cpuCores !== null && Number.isFinite(r.cpuCores)) {
      cpuMillis += Math.round(r.cpuCores * 1000);
      cpuRequests += requests.cpuMillis;
    }
    if (r.memoryBytes !== null && Number.isFinite(r.memoryBytes)) {
      memory += r.memoryBytes;
      memoryRequests += requests.memoryBytes;
    }
  }
  return {
    cpuPercent: cpuRequests > 0 ? Math.trunc((cpuMillis * 100) / cpuRequests) : null,
    memoryPercent: memoryRequests > 0 ? Math.trunc((memory * 100) / memoryRequests) : null,
  };
}
