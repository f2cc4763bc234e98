// Each local replica's environment, built as synth builds the pod's (service/environment.ts): the
// unit's `env`, its declared secrets, the toolkit's variables, and what a process needs to run.
// Nothing else of the supervisor's environment reaches it, so a secret another unit declares, or
// one that happens to sit in the developer's shell, is as absent here as it is in the cluster.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { ArchipelagoError } from '../errors.js';
import { LOCAL_ENVIRONMENT } from '../service/environments.js';
import { NATS_SECRET, PLATFORM_SECRET, REPLICA_REF, unitEnvironment } from '../service/environment.js';
import type { ResolvedService, ResolvedUnit } from '../service/types.js';
import { HOST_ENV } from '../units/bind.js';
import { ENV } from '../units/ipc.js';

/**
 * Passed through from the supervisor because a process needs them to run, not because a unit reads
 * them (a container image sets its own): PATH (executables such as setpriv and sleep), HOME and
 * TMPDIR (caches: tsx compiles into the temp folder), USER/LOGNAME (libraries that ask who runs
 * them), LANG/LC_ALL/TZ (locale and the local time zone), NODE_OPTIONS (Node's own flags, e.g. a
 * heap size), and the toolkit's own knobs: LOG_LEVEL, ARCHIPELAGO_HOST (bind address) and
 * ARCHIPELAGO_BUILT (run the built CLI).
 */
export const RUNTIME_VARS = ['PATH', 'HOME', 'TMPDIR', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'NODE_OPTIONS', 'LOG_LEVEL', HOST_ENV, 'ARCHIPELAGO_BUILT'] as const;
/**
 * Only locally: where the replica finds its declaration (the pod finds it in its working directory),
 * and where it sends its spans when `up` collects traces (see TRACE_VARS).
 */
export const LOCAL_VARS = [ENV.config, 'ARCHIPELAGO_RESOLVED', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_BSP_SCHEDULE_DELAY', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'] as const;

/**
 * What `up` gives every replica when it collects traces: its own receiver as the OTLP endpoint
 * (JSON), a short export delay so a trace shows in the console within a second, and the sampler
 * from the supervisor's environment (every trace when none is set).
 */
export function traceEnv(endpoint: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200' };
  for (const name of ['OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'] as const) if (env[name] !== undefined) out[name] = env[name]!;
  return out;
}

/** Declared secrets come from the supervisor's environment, else from the service's `.env` (never committed). */
export function secretSource(service: ResolvedService, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = path.join(service.root, '.env');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

/** Required secrets of these units that neither source holds: a pod would not start without them. */
export function missingSecrets(units: readonly ResolvedUnit[], source: NodeJS.ProcessEnv): string[] {
  return units.flatMap((u) => u.secrets.filter((s) => !u.optionalSecrets.includes(s) && source[s] === undefined).map((s) => `unit "${u.name}" needs secret ${s}`));
}

export function checkSecrets(service: ResolvedService, units: readonly ResolvedUnit[]): void {
  const missing = missingSecrets(units, secretSource(service));
  if (missing.length > 0) {
    throw new ArchipelagoError('ARCH_E_SECRET_MISSING', `${missing.join('; ')}: set it in the environment or in ${path.join(service.root, '.env')}, or declare it { name, optional: true }`);
  }
}

export interface LocalEnvOptions {
  service: ResolvedService;
  unit: ResolvedUnit;
  replica: string;
  databaseUrl: string;
  /** Read from the supervisor; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
}

export function localUnitEnv(opts: LocalEnvOptions): Record<string, string> {
  const { service, unit } = opts;
  const env = opts.env ?? process.env;
  const out: Record<string, string> = {};
  for (const name of RUNTIME_VARS) if (env[name] !== undefined) out[name] = env[name]!;
  const target = unitEnvironment(service, unit, { environment: LOCAL_ENVIRONMENT, nodeEnv: env.NODE_ENV, adminPort: 0, host: env[HOST_ENV] });
  Object.assign(out, target.plain);
  for (const [name, value] of Object.entries(target.perReplica)) out[name] = value.split(REPLICA_REF).join(opts.replica);
  const source = secretSource(service, env);
  for (const name of target.secrets) {
    if (name === PLATFORM_SECRET) out[name] = opts.databaseUrl;
    else if (name === NATS_SECRET && service.broker.kind === 'nats') out[name] = source[name] ?? service.broker.url;
    else if (source[name] !== undefined) out[name] = source[name]!;
  }
  out[ENV.replica] = opts.replica;
  out[ENV.config] = service.configPath;
  out.ARCHIPELAGO_RESOLVED = resolvedFile(service);
  return out;
}

const written = new Map<string, string>();

/**
 * The declaration the supervisor resolved, for its replicas to use as is: a config that reads the
 * supervisor's environment (a test's port) would otherwise resolve differently in a replica that
 * no longer sees it. One file per supervisor process, 0600, removed when it exits.
 */
export function resolvedFile(service: ResolvedService): string {
  const known = written.get(service.configPath);
  if (known) return known;
  const file = path.join(service.root, '.archipelago', `service.${process.pid}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(service), { mode: 0o600 });
  written.set(service.configPath, file);
  process.once('exit', () => rmSync(file, { force: true }));
  return file;
}
