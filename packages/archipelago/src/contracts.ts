// The contracts between what synth writes into a pod and what the unit hosts do in it: variable
// names, the admin port, health paths, metric names and probe timings. Both sides import them from
// here, so a rename cannot leave one side behind. A leaf: it imports nothing.

/** Environment variables the supervisor (locally) and the pod spec (in Kubernetes) set for every replica. */
export const ENV = {
  replica: 'ARCHIPELAGO_REPLICA',
  unit: 'ARCHIPELAGO_UNIT',
  service: 'ARCHIPELAGO_SERVICE',
  config: 'ARCHIPELAGO_CONFIG',
  environment: 'ARCHIPELAGO_ENVIRONMENT',
  database: 'DATABASE_URL',
  adminPort: 'ARCHIPELAGO_ADMIN_PORT',
  host: 'ARCHIPELAGO_HOST',
} as const;

/** The address servers in a container listen on (`ARCHIPELAGO_HOST` in the image and the pods): every interface. */
export const CONTAINER_HOST = '0.0.0.0';

/** Port of the health and metrics server of units that do not listen themselves (worker, cdc). */
export const ADMIN_PORT = 9464;

/** Health paths of the admin server, and the defaults of listening units. */
export const HEALTH_PATHS = { liveness: '/healthz', readiness: '/readyz' } as const;

/** Seconds a pod sleeps in preStop so endpoints drop it before SIGTERM starts the drain. */
export const PRESTOP_SECONDS = 5;

/** Kubernetes probe timings of long-running units (the local supervisor has its own, tighter ones). */
export const POD_PROBES = {
  startup: { periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 },
  readiness: { periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 },
  liveness: { periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
} as const;

/** Metrics a unit host exports that synth's autoscaling objects read. */
export const METRICS = {
  /** Open WebSocket connections of a realtime replica (the `connections` scale target). */
  wsConnections: 'archipelago_ws_connections',
} as const;
