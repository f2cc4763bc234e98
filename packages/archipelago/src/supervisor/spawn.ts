// Starts one child (`archipelago run <unit>`) as a `cluster` worker: listening replicas then share the
// unit's port through this process, and Node's cluster child exits by itself when its IPC channel to
// us closes, so no child outlives the supervisor, even one killed with SIGKILL.
import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedService, ResolvedUnit } from '../service/types.js';
import { localUnitEnv } from './env.js';
import { applyPriority } from './sched.js';

/**
 * The `archipelago` executable that children run. No loader flags: the launcher picks the sources
 * or the build as it did for us (it sees the same files and environment), and a replica registers
 * tsx only when the service's own files are TypeScript.
 */
export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/archipelago.js');

export interface SpawnOptions {
  service: ResolvedService;
  unit: ResolvedUnit;
  replica: string;
  databaseUrl: string;
  /** Arguments after `run <unit>`, e.g. a job's args. */
  args?: readonly string[];
  /** Overrides the executable (a tiny replica bootstrap in tests). */
  exec?: string;
  extraEnv?: Record<string, string>;
}

/** The environment a unit's process receives: what its pod would get (supervisor/env.ts), and `extraEnv`. */
export function unitEnv(opts: SpawnOptions): Record<string, string> {
  return { ...localUnitEnv(opts), ...opts.extraEnv };
}

/**
 * `cluster.fork` lays the given variables over the primary's whole environment; an undefined value
 * is dropped when the child is spawned, so every variable of ours not in `env` is cleared that way.
 */
function only(env: Record<string, string>): NodeJS.ProcessEnv {
  const cleared: NodeJS.ProcessEnv = {};
  for (const k of Object.keys(process.env)) cleared[k] = undefined;
  return { ...cleared, ...env };
}

/**
 * `ARCHIPELAGO_CPU_PROFILE=<dir>`: every replica writes V8 CPU profiles into `<dir>/<replica>/`
 * when it exits (one per thread: the module loader runs in a thread of its own; open them in
 * Chrome DevTools or speedscope). Node refuses `--cpu-prof` in NODE_OPTIONS, so the supervisor
 * passes it to each child itself.
 */
function profileArgs(opts: SpawnOptions): string[] {
  const dir = process.env.ARCHIPELAGO_CPU_PROFILE;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(path.resolve(dir), opts.replica)}`] : [];
}

export function forkUnit(opts: SpawnOptions): Worker {
  cluster.setupPrimary({
    exec: opts.exec ?? BIN,
    args: ['run', opts.unit.name, '--config', opts.service.configPath, ...(opts.args?.length ? ['--', ...opts.args] : [])],
    execArgv: profileArgs(opts),
    cwd: opts.service.root,
    silent: true,
  });
  const worker = cluster.fork(only(unitEnv(opts)));
  const pid = worker.process.pid;
  // Background units also run only on CPU time nothing else wants (sched.ts says why).
  if (pid !== undefined) void applyPriority(pid, opts.unit.priority);
  // A child that dies before we listen must not crash us with an unhandled 'error'.
  worker.on('error', () => {});
  worker.process.on('error', () => {});
  return worker;
}

/** Sends a signal to a child, ignoring one that already exited. */
export function signal(worker: Worker, sig: NodeJS.Signals): void {
  const p = worker.process;
  if (p.exitCode !== null || p.signalCode !== null) return;
  try { p.kill(sig); } catch {}
}

export function exited(worker: Worker): boolean {
  return worker.process.exitCode !== null || worker.process.signalCode !== null;
}

/** Resolves when the child exits. */
export function waitExit(worker: Worker): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const p = worker.process;
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve({ code: p.exitCode, signal: p.signalCode as NodeJS.Signals | null });
  return new Promise((resolve) => p.once('exit', (code, sig) => resolve({ code, signal: sig })));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export async function terminate(worker: Worker, graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  if (exited(worker)) return { ...(await waitExit(worker)), killed: false };
  signal(worker, 'SIGTERM');
  let killed = false;
  const timer = setTimeout(() => { killed = true; signal(worker, 'SIGKILL'); }, graceMs);
  const r = await waitExit(worker);
  clearTimeout(timer);
  return { ...r, killed };
}
