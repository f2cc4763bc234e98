// Messages between a replica and the local supervisor over Node's IPC channel. The replica side
// lives here (units/ never imports supervisor/); the supervisor imports these types.

import type { CdcLoad } from './process-metrics.js';

/** Replica → supervisor. */
export type ReplicaMessage =
  | { type: 'arch:listening'; adminPort: number; port?: number }
  | { type: 'arch:ready' }
  | { type: 'arch:load'; inFlight: number; connections: number; handled: number; eventLoopLagMs: number; requestRate?: number; p99Ms?: number; cdc?: CdcLoad }
  | { type: 'arch:draining' }
  | { type: 'arch:log'; line: string };

/** Supervisor → replica. */
export type SupervisorMessage =
  | { type: 'arch:drain' };

export function isReplicaMessage(m: unknown): m is ReplicaMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('arch:');
}

/** Sends to the supervisor when this process has one; a no-op otherwise. */
export function toSupervisor(m: ReplicaMessage): void {
  if (typeof process.send === 'function' && process.connected) process.send(m);
}

/** Environment variables the supervisor sets for each replica (shared with synth's pod spec). */
export { ENV } from '../contracts.js';
