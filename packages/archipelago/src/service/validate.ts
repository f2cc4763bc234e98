// Validates a service declaration once, collecting every issue, then resolves it into a frozen,
// fully defaulted configuration. Each message names the unit, the field and the bad value.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { ArchipelagoError, type ErrorCode } from '../errors.js';
import { parseSchedule, validateTimeZone } from '../schedule/index.js';
import { LOCAL_ENVIRONMENT } from './environments.js';
import { COMMON_FIELDS, KIND_NAMES, KINDS, isKind } from './kinds.js';
import { parseCpu, parseDuration, parseMemory } from './quantity.js';
import { compiledEntry } from './typescript.js';
import type {
  Behavior, ResolvedBehavior, ResolvedBroker, ResolvedService, ResolvedUnit, ServiceInput, UnitKind, ValidationIssue,
} from './types.js';

const fieldsOf = (kind: UnitKind): readonly string[] => [...COMMON_FIELDS, ...KINDS[kind].fields];
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SQL_IDENT = /^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)?$/;
/** Larger than any node one could plausibly schedule a pod on. */
const MAX_PLAUSIBLE_CPU_MILLIS = 64_000;
const MAX_PLAUSIBLE_MEMORY = 256 * 2 ** 30;

export interface ValidateOptions {
  /** Folder the entry paths are relative to; entry files are checked to exist when given. */
  root?: string;
  configPath?: string;
}

export interface ValidationResult {
  readonly service: ResolvedService | undefined;
  readonly errors: readonly ValidationIssue[];
  readonly warnings: readonly ValidationIssue[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v) ?? String(v));

export function validateService(input: unknown, opts: ValidateOptions = {}): ValidationResult {
  const issues: ValidationIssue[] = [];
  const err = (code: ErrorCode, message: string) => issues.push({ code, message, severity: 'error' });
  const warn = (code: ErrorCode, message: string) => issues.push({ code, message, severity: 'warning' });
  const root = opts.root ?? process.cwd();

  if (!isObj(input)) {
    err('ARCH_E_CONFIG_INVALID', `the config must default-export defineService({...}), got ${show(input)}`);
    return finish(undefined);
  }
  for (const key of Object.keys(input)) {
    if (!['name', 'broker', 'units', 'migrations'].includes(key)) err('ARCH_E_UNKNOWN_FIELD', `service: unknown field "${key}"`);
  }
  const name = input.name;
  if (typeof name !== 'string' || !DNS1123.test(name) || name.length > 63) {
    err('ARCH_E_INVALID_NAME', `service: name (${show(name)}) must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)`);
  }
  const broker = resolveBroker(input.broker, err);
  if (!Array.isArray(input.units)) {
    err('ARCH_E_MISSING_FIELD', 'service: units must be an array of unit declarations');
    return finish(undefined);
  }

  const units: ResolvedUnit[] = [];
  const names = new Map<string, number>();
  const ports = new Map<number, string>();
  input.units.forEach((raw: unknown, index: number) => {
    const label = isObj(raw) && typeof raw.name === 'string' ? `units[${index}] "${raw.name}"` : `units[${index}]`;
    const e = (code: ErrorCode, msg: string) => err(code, `${label}: ${msg}`);
    const w = (code: ErrorCode, msg: string) => warn(code, `${label}: ${msg}`);
    if (!isObj(raw)) return e('ARCH_E_CONFIG_INVALID', `must be an object, got ${show(raw)}`);
    if (!isKind(raw.kind)) return e('ARCH_E_UNKNOWN_KIND', `kind (${show(raw.kind)}) must be one of ${KIND_NAMES.join(', ')}`);
    const kind = raw.kind;
    const spec = KINDS[kind];
    for (const key of Object.keys(raw)) {
      if (!fieldsOf(kind).includes(key)) e('ARCH_E_UNKNOWN_FIELD', `unknown field "${key}" for kind ${kind} (allowed: ${fieldsOf(kind).join(', ')})`);
    }
    const uname = raw.name;
    if (typeof uname !== 'string' || !DNS1123.test(uname) || uname.length > 63) {
      e('ARCH_E_INVALID_NAME', `name (${show(uname)}) must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)`);
    } else if (names.has(uname)) {
      e('ARCH_E_DUPLICATE_UNIT', `name "${uname}" is already used by units[${names.get(uname)}]`);
    } else names.set(uname, index);

    // entry
    let entryPath: string | undefined;
    if (spec.entryExport === undefined) {
      if (raw.entry !== undefined) e('ARCH_E_UNKNOWN_FIELD', `entry is not used by a ${kind} unit (the relay is built in)`);
    } else if (typeof raw.entry !== 'string' || raw.entry === '') {
      e('ARCH_E_MISSING_FIELD', `entry (${show(raw.entry)}) must name the unit's entry file, relative to the config`);
    } else {
      entryPath = path.resolve(root, raw.entry);
      if (opts.configPath !== undefined) entryPath = compiledEntry(opts.configPath, entryPath);
      if (opts.root !== undefined && !existsSync(entryPath)) e('ARCH_E_ENTRY_NOT_FOUND', `entry "${raw.entry}" does not exist (looked for ${entryPath})`);
    }

    // replicas
    const { longRunning } = spec;
    let { min, max } = spec.defaults.replicas;
    if (raw.replicas !== undefined) {
      if (!isObj(raw.replicas)) e('ARCH_E_INVALID_VALUE', `replicas (${show(raw.replicas)}) must be { min, max }`);
      else {
        for (const key of Object.keys(raw.replicas)) if (key !== 'min' && key !== 'max') e('ARCH_E_UNKNOWN_FIELD', `unknown field "replicas.${key}"`);
        const r = raw.replicas;
        if (r.min !== undefined) {
          if (!Number.isInteger(r.min) || (r.min as number) < 0) e('ARCH_E_INVALID_VALUE', `replicas.min (${show(r.min)}) must be an integer ≥ 0`);
          else min = r.min as number;
        }
        if (r.max !== undefined) {
          if (!Number.isInteger(r.max) || (r.max as number) < 1) e('ARCH_E_INVALID_VALUE', `replicas.max (${show(r.max)}) must be an integer ≥ 1`);
          else max = r.max as number;
        } else if (r.min !== undefined) max = Math.max(min, 1);
        if (min > max) e('ARCH_E_REPLICAS_RANGE', `replicas.min (${min}) must be ≤ replicas.max (${max})`);
        if (min === 0 && !spec.scalesToZero && longRunning) e('ARCH_E_INVALID_VALUE', `replicas.min (0) is only allowed for ${KIND_NAMES.filter((k) => KINDS[k].scalesToZero).join(', ')} units (a ${kind} unit must keep a replica)`);
      }
      if (!longRunning) w('ARCH_E_INVALID_VALUE', `replicas is ignored for a ${kind} unit (each run is one process)`);
    }

    // resources
    let cpu = '100m', memory = '256Mi';
    if (raw.resources !== undefined) {
      if (!isObj(raw.resources)) e('ARCH_E_INVALID_VALUE', `resources (${show(raw.resources)}) must be { cpu, memory }`);
      else {
        for (const key of Object.keys(raw.resources)) if (key !== 'cpu' && key !== 'memory') e('ARCH_E_UNKNOWN_FIELD', `unknown field "resources.${key}"`);
        if (raw.resources.cpu !== undefined) cpu = raw.resources.cpu as string;
        if (raw.resources.memory !== undefined) memory = raw.resources.memory as string;
      }
    }
    const cpuMillis = typeof cpu === 'string' ? parseCpu(cpu) : undefined;
    const memoryBytes = typeof memory === 'string' ? parseMemory(memory) : undefined;
    if (cpuMillis === undefined) e('ARCH_E_INVALID_QUANTITY', `resources.cpu (${show(cpu)}) must be a Kubernetes CPU quantity such as '250m' or '1'`);
    else if (cpuMillis > MAX_PLAUSIBLE_CPU_MILLIS) w('ARCH_E_INVALID_QUANTITY', `resources.cpu (${show(cpu)}) asks for ${cpuMillis / 1000} cores, more than any plausible node; did you mean '${cpu}m'?`);
    if (memoryBytes === undefined) e('ARCH_E_INVALID_QUANTITY', `resources.memory (${show(memory)}) must be a Kubernetes memory quantity such as '512Mi' or '1Gi'`);
    else if (memoryBytes > MAX_PLAUSIBLE_MEMORY) w('ARCH_E_INVALID_QUANTITY', `resources.memory (${show(memory)}) is more than any plausible node holds`);
    else if (memoryBytes < 16 * 2 ** 20) w('ARCH_E_INVALID_QUANTITY', `resources.memory (${show(memory)}) is under 16Mi; did you mean '${memory}Mi'?`);

    // env, secrets, priority, grace
    const env: Record<string, string> = {};
    if (raw.env !== undefined) {
      if (!isObj(raw.env)) e('ARCH_E_INVALID_VALUE', `env (${show(raw.env)}) must be an object of strings`);
      else for (const [k, v] of Object.entries(raw.env)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) e('ARCH_E_INVALID_VALUE', `env key ${show(k)} is not a valid environment variable name`);
        if (typeof v !== 'string') e('ARCH_E_INVALID_VALUE', `env.${k} (${show(v)}) must be a string`);
        else env[k] = v;
      }
    }
    const { secrets, optionalSecrets } = resolveSecrets(raw.secrets, e);
    const priority = raw.priority ?? spec.defaults.priority;
    if (!['critical', 'normal', 'background'].includes(priority as string)) e('ARCH_E_INVALID_VALUE', `priority (${show(raw.priority)}) must be critical, normal or background`);
    const grace = (raw.grace ?? spec.defaults.grace) as string;
    const graceMs = typeof grace === 'string' ? parseDuration(grace) : undefined;
    if (graceMs === undefined) e('ARCH_E_INVALID_DURATION', `grace (${show(raw.grace)}) must be a duration such as '30s'`);

    const environments = resolveEnvironments(raw.localOnly, raw.environments, e);

    const common = {
      name: uname as string, index, entry: raw.entry as string | undefined, entryPath,
      replicas: { min, max }, resources: { cpu, memory, cpuMillis: cpuMillis ?? 0, memoryBytes: memoryBytes ?? 0 },
      env, secrets, optionalSecrets, priority: priority as ResolvedUnit['priority'], graceMs: graceMs ?? 30_000, grace: grace as ResolvedUnit['grace'],
      environments,
    };
    const duration = (field: string, v: unknown): number | undefined => {
      if (v === undefined) return undefined;
      const ms = typeof v === 'string' ? parseDuration(v) : undefined;
      if (ms === undefined) e('ARCH_E_INVALID_DURATION', `${field} (${show(v)}) must be a duration such as '30s' or '5m'`);
      return ms;
    };
    const positiveInt = (field: string, v: unknown): number | undefined => {
      if (v === undefined) return undefined;
      if (!Number.isInteger(v) || (v as number) <= 0) { e('ARCH_E_SCALE_TARGET', `${field} (${show(v)}) must be a positive integer`); return undefined; }
      return v as number;
    };
    const scale = isObj(raw.scale) ? raw.scale : {};
    if (raw.scale !== undefined) {
      if (!isObj(raw.scale)) e('ARCH_E_SCALE_TARGET', `scale (${show(raw.scale)}) must be an object`);
      else for (const key of Object.keys(raw.scale)) {
        if (!spec.scaleFields.includes(key)) {
          e('ARCH_E_SCALE_TARGET', spec.scaleFields.length === 0
            ? `scale.${key}: a ${kind} unit does not scale`
            : `scale.${key} cannot be used by a ${kind} unit (it can use ${spec.scaleFields.filter((f) => f !== 'behavior').join(', ')})`);
        }
      }
    }
    const behavior = resolveBehavior(scale.behavior as Behavior | undefined, (f, v) => duration(f, v), e);

    switch (kind) {
      case 'api': case 'realtime': {
        const port = raw.port;
        if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) e('ARCH_E_INVALID_VALUE', `port (${show(port)}) must be an integer from 1 to 65535`);
        else if (ports.has(port as number)) e('ARCH_E_DUPLICATE_PORT', `port ${port} is already used by unit "${ports.get(port as number)}"`);
        else ports.set(port as number, uname as string);
        const health = isObj(raw.health) ? raw.health : {};
        const liveness = (health.liveness ?? '/healthz') as string, readiness = (health.readiness ?? '/readyz') as string;
        for (const [f, p] of [['liveness', liveness], ['readiness', readiness]] as const) {
          if (typeof p !== 'string' || !p.startsWith('/')) e('ARCH_E_INVALID_VALUE', `health.${f} (${show(p)}) must be a path starting with '/'`);
        }
        const pct = (f: string, v: unknown) => {
          if (v === undefined) return undefined;
          if (!Number.isInteger(v) || (v as number) <= 0 || (v as number) > 100) { e('ARCH_E_SCALE_TARGET', `scale.${f} (${show(v)}) must be a utilisation percentage from 1 to 100`); return undefined; }
          return v as number;
        };
        const validation = raw.validation ?? 'strict';
        if (validation !== 'strict' && validation !== 'fastify') e('ARCH_E_INVALID_VALUE', `validation (${show(raw.validation)}) must be strict or fastify`);
        units.push({ ...common, kind, port: port as number, health: { liveness, readiness },
          scale: { cpu: pct('cpu', scale.cpu), memory: pct('memory', scale.memory), connections: positiveInt('scale.connections', scale.connections), behavior },
          trustProxy: trustedProxies(raw.trustProxy, e), validation: validation as 'strict' });
        break;
      }
      case 'worker': {
        const activation = scale.activation ?? 0;
        if (!Number.isInteger(activation) || (activation as number) < 0) e('ARCH_E_SCALE_TARGET', `scale.activation (${show(activation)}) must be an integer ≥ 0`);
        const fallback = scale.fallback;
        if (fallback !== undefined && (!Number.isInteger(fallback) || (fallback as number) < 0)) e('ARCH_E_SCALE_TARGET', `scale.fallback (${show(fallback)}) must be an integer ≥ 0`);
        if (min === 0 && scale.backlog === undefined && scale.age === undefined) e('ARCH_E_SCALE_TARGET', 'replicas.min is 0 but no scale.backlog or scale.age target could wake the unit');
        units.push({ ...common, kind, scale: {
          backlog: positiveInt('scale.backlog', scale.backlog), ageMs: duration('scale.age', scale.age), activation: activation as number,
          cooldownMs: duration('scale.cooldown', scale.cooldown) ?? 300_000, pollingMs: duration('scale.polling', scale.polling) ?? 2_000,
          fallback: fallback as number | undefined, behavior } });
        break;
      }
      case 'cron': {
        const schedule = raw.schedule;
        // The grammar Kubernetes applies (robfig/cron's standard parser): what passes here applies.
        if (typeof schedule !== 'string') e('ARCH_E_INVALID_CRON', `schedule (${show(schedule)}) must be a 5-field cron expression such as '0 9 * * MON'`);
        else {
          try { parseSchedule(schedule); } catch (x) { e('ARCH_E_INVALID_CRON', `schedule (${show(schedule)}) is not a 5-field cron schedule as Kubernetes parses it: ${(x as Error).message}`); }
        }
        const timezone = raw.timezone ?? 'UTC';
        const tzProblem = typeof timezone === 'string' ? validateTimeZone(timezone) : 'must be a string';
        if (tzProblem) e('ARCH_E_INVALID_TIMEZONE', `timezone (${show(raw.timezone)}) ${tzProblem}`);
        const concurrency = raw.concurrency ?? 'forbid';
        if (!['forbid', 'allow', 'replace'].includes(concurrency as string)) e('ARCH_E_INVALID_VALUE', `concurrency (${show(concurrency)}) must be forbid, allow or replace`);
        units.push({ ...common, kind, schedule: schedule as string, timezone: timezone as string, concurrency: concurrency as 'forbid', deadlineMs: duration('deadline', raw.deadline),
          startingDeadlineMs: duration('startingDeadline', raw.startingDeadline) ?? 300_000 });
        break;
      }
      case 'job': {
        const runOn = raw.runOn ?? 'manual';
        if (runOn !== 'deploy' && runOn !== 'manual') e('ARCH_E_INVALID_VALUE', `runOn (${show(runOn)}) must be deploy or manual`);
        units.push({ ...common, kind, runOn: runOn as 'deploy', deadlineMs: duration('deadline', raw.deadline) });
        break;
      }
      case 'cdc': {
        const tables = raw.tables;
        if (!Array.isArray(tables) || tables.length === 0) e('ARCH_E_MISSING_FIELD', `tables (${show(tables)}) must list at least one table`);
        else for (const t of tables) if (typeof t !== 'string' || !SQL_IDENT.test(t)) e('ARCH_E_INVALID_VALUE', `tables entry ${show(t)} is not a table name`);
        const maxRetainedBytes = raw.maxRetainedBytes ?? 1024 ** 3;
        if (!Number.isInteger(maxRetainedBytes) || (maxRetainedBytes as number) <= 0) e('ARCH_E_INVALID_VALUE', `maxRetainedBytes (${show(maxRetainedBytes)}) must be a positive integer`);
        units.push({ ...common, kind, tables: Array.isArray(tables) ? (tables as string[]) : [], maxRetainedBytes: maxRetainedBytes as number });
        break;
      }
    }
  });
  if (input.units.filter((u: unknown) => isObj(u) && u.kind === 'cdc').length > 1) err('ARCH_E_CONFIG_INVALID', 'service: at most one cdc unit (one relay per service)');
  const migrations = input.migrations ?? 'migrations';
  if (typeof migrations !== 'string') err('ARCH_E_INVALID_VALUE', `service: migrations (${show(migrations)}) must be a folder path`);

  const service: ResolvedService = {
    name: name as string, root, configPath: opts.configPath ?? path.join(root, 'archipelago.config.ts'), broker,
    migrationsDir: path.resolve(root, migrations as string), units,
  };
  return finish(service);

  function finish(s: ResolvedService | undefined): ValidationResult {
    const errors = issues.filter((i) => i.severity === 'error');
    const warnings = issues.filter((i) => i.severity === 'warning');
    return Object.freeze({ service: errors.length === 0 && s ? deepFreeze(s) : undefined, errors, warnings });
  }
}

/** Validates and throws one ArchipelagoError listing every problem. */
export function resolveService(input: ServiceInput | unknown, opts: ValidateOptions = {}): ResolvedService {
  const r = validateService(input, opts);
  if (!r.service) throwInvalid(r.errors);
  return r.service;
}

/** One ArchipelagoError listing every error: the code of the only one, or ARCH_E_CONFIG_INVALID. */
export function throwInvalid(errors: readonly ValidationIssue[]): never {
  const first = errors[0];
  throw new ArchipelagoError(errors.length === 1 && first ? first.code : 'ARCH_E_CONFIG_INVALID',
    `invalid service declaration (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${errors.map((i) => `  ${i.code} ${i.message}`).join('\n')}`,
    errors.map((i) => `${i.code} ${i.message}`));
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function resolveSecrets(raw: unknown, e: (c: ErrorCode, m: string) => void): { secrets: string[]; optionalSecrets: string[] } {
  const secrets: string[] = [], optionalSecrets: string[] = [];
  if (raw === undefined) return { secrets, optionalSecrets };
  if (!Array.isArray(raw)) {
    e('ARCH_E_INVALID_VALUE', `secrets (${show(raw)}) must be an array of names or { name, optional }`);
    return { secrets, optionalSecrets };
  }
  raw.forEach((s: unknown, i: number) => {
    let name: unknown = s, optional: unknown = false;
    if (isObj(s)) {
      for (const key of Object.keys(s)) if (key !== 'name' && key !== 'optional') e('ARCH_E_UNKNOWN_FIELD', `unknown field "secrets[${i}].${key}" (allowed: name, optional)`);
      name = s.name;
      optional = s.optional ?? false;
      if (typeof optional !== 'boolean') e('ARCH_E_INVALID_VALUE', `secrets[${i}].optional (${show(optional)}) must be true or false`);
    }
    const field = isObj(s) ? `secrets[${i}].name` : `secrets[${i}]`;
    if (typeof name !== 'string' || !ENV_NAME.test(name)) return e('ARCH_E_INVALID_VALUE', `${field} (${show(name)}) must be an environment variable name`);
    if (secrets.includes(name)) return e('ARCH_E_INVALID_VALUE', `${field} ("${name}") is declared twice`);
    secrets.push(name);
    if (optional === true) optionalSecrets.push(name);
  });
  return { secrets, optionalSecrets };
}

function resolveEnvironments(localOnly: unknown, environments: unknown, e: (c: ErrorCode, m: string) => void): string[] | undefined {
  if (localOnly !== undefined && typeof localOnly !== 'boolean') e('ARCH_E_INVALID_VALUE', `localOnly (${show(localOnly)}) must be true or false`);
  if (environments === undefined) return localOnly === true ? [LOCAL_ENVIRONMENT] : undefined;
  if (localOnly !== undefined) e('ARCH_E_INVALID_VALUE', 'localOnly and environments cannot both be set (localOnly: true is environments: [\'local\'])');
  if (!Array.isArray(environments) || environments.length === 0) {
    e('ARCH_E_INVALID_VALUE', `environments (${show(environments)}) must be a non-empty array of environment names ('local' is archipelago up)`);
    return undefined;
  }
  const out: string[] = [];
  for (const env of environments) {
    if (typeof env !== 'string' || !DNS1123.test(env)) e('ARCH_E_INVALID_VALUE', `environments entry ${show(env)} must be an environment name (lowercase letters, digits, '-')`);
    else out.push(env);
  }
  return out;
}

function resolveBroker(b: unknown, err: (c: ErrorCode, m: string) => void): ResolvedBroker {
  if (b === undefined || b === 'postgres') return { kind: 'postgres' };
  if (b === 'nats') return { kind: 'nats', url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', stream: 'archipelago' };
  if (isObj(b) && b.kind === 'postgres') return { kind: 'postgres' };
  if (isObj(b) && b.kind === 'nats') {
    return { kind: 'nats', url: (b.url as string | undefined) ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222', stream: (b.stream as string | undefined) ?? 'archipelago' };
  }
  err('ARCH_E_INVALID_VALUE', `service: broker (${show(b)}) must be 'postgres' or 'nats' (or { kind, ... })`);
  return { kind: 'postgres' };
}

function resolveBehavior(b: Behavior | undefined, duration: (f: string, v: unknown) => number | undefined, e: (c: ErrorCode, m: string) => void): ResolvedBehavior {
  // Defaults are Kubernetes' HPA defaults: scale up at once (100% or 4 pods per 15s), scale down after 300s.
  const up = b?.scaleUp, down = b?.scaleDown;
  const policies = (side: string, p: Behavior['scaleUp'], def: { type: 'pods' | 'percent'; value: number; periodMs: number }[]) =>
    p?.policies?.map((pol, i) => {
      if (pol.type !== 'pods' && pol.type !== 'percent') e('ARCH_E_SCALE_TARGET', `scale.behavior.${side}.policies[${i}].type (${show(pol.type)}) must be pods or percent`);
      if (!Number.isInteger(pol.value) || pol.value <= 0) e('ARCH_E_SCALE_TARGET', `scale.behavior.${side}.policies[${i}].value (${show(pol.value)}) must be a positive integer`);
      return { type: pol.type, value: pol.value, periodMs: duration(`scale.behavior.${side}.policies[${i}].period`, pol.period) ?? 15_000 };
    }) ?? def;
  return {
    scaleUp: { stabilizationMs: duration('scale.behavior.scaleUp.stabilization', up?.stabilization) ?? 0,
      policies: policies('scaleUp', up, [{ type: 'percent', value: 100, periodMs: 15_000 }, { type: 'pods', value: 4, periodMs: 15_000 }]), select: up?.select ?? 'max' },
    scaleDown: { stabilizationMs: duration('scale.behavior.scaleDown.stabilization', down?.stabilization) ?? 300_000,
      policies: policies('scaleDown', down, [{ type: 'percent', value: 100, periodMs: 15_000 }]), select: down?.select ?? 'max' },
  };
}

/** `trustProxy`: IPv4 or IPv6 addresses, or CIDRs of them, as Fastify (proxy-addr) takes them. */
function trustedProxies(v: unknown, e: (c: ErrorCode, m: string) => void): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    e('ARCH_E_INVALID_VALUE', `trustProxy (${show(v)}) must be an array of addresses or CIDRs, e.g. ['10.0.0.0/8']`);
    return [];
  }
  v.forEach((entry: unknown, i) => {
    const [addr, bits, extra] = typeof entry === 'string' ? entry.split('/') : [];
    const family = addr ? isIP(addr) : 0;
    const max = family === 6 ? 128 : 32;
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
    if (!family || !okBits || extra !== undefined) e('ARCH_E_INVALID_VALUE', `trustProxy[${i}] (${show(entry)}) must be an IP address or a CIDR such as '10.0.0.0/8'`);
  });
  return v.filter((x): x is string => typeof x === 'string');
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
