// Kubelet-style HTTP probes against a replica's admin port, and the supervisor's timing knobs
// (probe periods and thresholds, restart back-off), overridable for tests and impatient users.
import http from 'node:http';
import { reachHost } from '../units/bind.js';

export interface ProbeSettings {
  /** How often the startup probe runs until its first success. */
  startupPeriodMs: number;
  /** Startup failures (including time without an admin port) before the replica is restarted. */
  startupFailureThreshold: number;
  readinessPeriodMs: number;
  readinessFailureThreshold: number;
  livenessPeriodMs: number;
  livenessFailureThreshold: number;
  timeoutMs: number;
}

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  /** A replica that ran this long before dying starts its back-off over. */
  resetAfterMs: number;
}

export interface Tuning {
  probes: ProbeSettings;
  backoff: BackoffSettings;
  /** Restarts of a dead embedded PostgreSQL. */
  databaseBackoff: BackoffSettings;
  /** Autoscaler polling for api and realtime units (workers use their scale.polling). */
  pollingMs: number;
  /** Turns the autoscaler loop off (manual scaling only). */
  autoscale: boolean;
  /** Executable started for each child instead of the archipelago bin. */
  exec?: string;
  /**
   * Gives the backends of a `DATABASE_URL` server the units' priorities too, as for the embedded
   * one. Only for a server on this machine, started by the same user or by root's supervisor
   * (benchmarks that prepare their own server); a remote server's pids are not ours.
   */
  databasePriorities?: boolean;
}

export const DEFAULT_TUNING: Tuning = {
  probes: {
    // A replica compiles its TypeScript at start; on a busy laptop several starting at once can take
    // minutes, and a startup probe that gives up early turns slowness into a restart loop.
    startupPeriodMs: 500, startupFailureThreshold: 600,
    readinessPeriodMs: 1000, readinessFailureThreshold: 2,
    // A busy worker or relay may stall its event loop for seconds; restart only after ~30 s of silence.
    livenessPeriodMs: 5000, livenessFailureThreshold: 6,
    timeoutMs: 2000,
  },
  backoff: { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 },
  databaseBackoff: { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 },
  pollingMs: 2000,
  autoscale: true,
};

/** Defaults merged with the JSON in `ARCHIPELAGO_SUPERVISOR` (e.g. `{"backoff":{"initialMs":200}}`). */
export function tuningFromEnv(env: NodeJS.ProcessEnv = process.env): Tuning {
  const raw = env.ARCHIPELAGO_SUPERVISOR;
  if (!raw) return DEFAULT_TUNING;
  const o = JSON.parse(raw) as Partial<{ probes: Partial<ProbeSettings>; backoff: Partial<BackoffSettings>; databaseBackoff: Partial<BackoffSettings>; pollingMs: number; autoscale: boolean; exec: string; databasePriorities: boolean }>;
  return {
    probes: { ...DEFAULT_TUNING.probes, ...o.probes },
    backoff: { ...DEFAULT_TUNING.backoff, ...o.backoff },
    databaseBackoff: { ...DEFAULT_TUNING.databaseBackoff, ...o.databaseBackoff },
    pollingMs: o.pollingMs ?? DEFAULT_TUNING.pollingMs,
    autoscale: o.autoscale ?? DEFAULT_TUNING.autoscale,
    exec: o.exec,
    databasePriorities: o.databasePriorities,
  };
}

/** Back-off before the `crashes`-th consecutive restart: initial, doubling, capped. */
export function backoffDelay(crashes: number, b: BackoffSettings): number {
  if (crashes <= 0) return 0;
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(crashes - 1, 30));
}

/** GET http://<the replicas' address>:port/path (127.0.0.1 by default); true on a 2xx or 3xx answer within the timeout, as a kubelet. */
export function probe(port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: reachHost(), port, path, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) >= 200 && (res.statusCode ?? 500) < 400);
    });
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.on('error', () => resolve(false));
  });
}
