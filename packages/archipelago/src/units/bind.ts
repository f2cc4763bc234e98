// The address a replica's servers (the unit's port, the admin port) listen on: loopback unless told
// otherwise, so `archipelago up` on a laptop in a café exposes nothing. The image and the pods set
// ARCHIPELAGO_HOST=0.0.0.0, since a kubelet probes and a Service routes to the pod's own address.
import net from 'node:net';
import { ArchipelagoError } from '../errors.js';
import { ENV } from '../contracts.js';

export { CONTAINER_HOST } from '../contracts.js';
export const HOST_ENV = ENV.host;
export const LOCAL_HOST = '127.0.0.1';

export function bindHost(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env[HOST_ENV];
  if (raw === undefined || raw === '') return LOCAL_HOST;
  if (net.isIP(raw) === 0) throw new ArchipelagoError('ARCH_E_USAGE', `${HOST_ENV} (${JSON.stringify(raw)}) must be an IP address such as 127.0.0.1, 0.0.0.0 or ::`);
  return raw;
}

/** Where this machine reaches a server bound to `ARCHIPELAGO_HOST` (the supervisor's probes). */
export function reachHost(env: NodeJS.ProcessEnv = process.env): string {
  let host: string;
  try { host = bindHost(env); } catch { return LOCAL_HOST; } // the replica itself reports the bad value
  return host === '0.0.0.0' ? LOCAL_HOST : host === '::' ? '::1' : host;
}
