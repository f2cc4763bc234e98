// Finds and imports `archipelago.config.ts`, then validates it into a ResolvedService.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import type { ResolvedService, ValidationIssue } from './types.js';
import { importServiceModule } from './typescript.js';
import { throwInvalid, validateService } from './validate.js';

export const CONFIG_FILE = 'archipelago.config.ts';
/** A built service's config (the image runs this one). */
export const BUILT_CONFIG_FILE = 'archipelago.config.js';

/** The config path: the given file, or `archipelago.config.ts` (else `.js`) in `cwd` or its nearest ancestor. */
export function findConfig(explicit?: string, cwd = process.cwd()): string {
  if (explicit) {
    const p = path.resolve(cwd, explicit);
    if (!existsSync(p)) throw new ArchipelagoError('ARCH_E_CONFIG_NOT_FOUND', `config file ${p} does not exist`);
    return p;
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    for (const file of [CONFIG_FILE, BUILT_CONFIG_FILE]) {
      const p = path.join(dir, file);
      if (existsSync(p)) return p;
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new ArchipelagoError('ARCH_E_CONFIG_NOT_FOUND', `no ${CONFIG_FILE} in ${cwd} or any folder above it (use --config <file>)`);
}

export async function importConfig(configPath: string, fresh = false): Promise<unknown> {
  try {
    return (await importServiceModule(configPath, path.dirname(configPath), { fresh, native: true })).default;
  } catch (e) {
    if (e instanceof ArchipelagoError) throw e;
    throw new ArchipelagoError('ARCH_E_CONFIG_LOAD', `could not load ${configPath}: ${(e as Error).message}`);
  }
}

export interface LoadedService { service: ResolvedService; warnings: readonly ValidationIssue[] }

export async function loadService(explicit?: string, cwd?: string): Promise<LoadedService> {
  const configPath = findConfig(explicit, cwd);
  const input = await importConfig(configPath);
  const root = path.dirname(configPath);
  // Validated once: the result carries both the resolved service and the warnings.
  const result = validateService(input, { root, configPath });
  if (!result.service) throwInvalid(result.errors);
  return { service: result.service, warnings: result.warnings };
}

/**
 * The declaration a local supervisor resolved and handed its replica (`ARCHIPELAGO_RESOLVED`), when
 * it is the one asked for: a replica then runs exactly what its supervisor runs, even when the
 * config reads variables the replica's environment no longer holds.
 */
export function loadResolved(configPath: string, env: NodeJS.ProcessEnv = process.env): ResolvedService | undefined {
  const file = env.ARCHIPELAGO_RESOLVED;
  if (!file || !existsSync(file)) return undefined;
  const service = JSON.parse(readFileSync(file, 'utf8')) as ResolvedService;
  return service.configPath === configPath ? service : undefined;
}

export function unitByName(service: ResolvedService, name: string) {
  const unit = service.units.find((u) => u.name === name);
  if (!unit) throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `service "${service.name}" has no unit "${name}" (units: ${service.units.map((u) => u.name).join(', ')})`);
  return unit;
}
