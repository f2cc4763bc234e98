// Shared by the commands that reach a service's database (run, job, migrate, provision, topics, dlq):
// the one place that finds it, and a broker on it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import type { Broker } from '../messaging/broker.js';
import { createBroker } from '../messaging/index.js';
import type { ResolvedService } from '../service/types.js';

/** DATABASE_URL, else the file the supervisor writes while `archipelago up` runs. */
export function databaseUrlFor(service: Pick<ResolvedService, 'root' | 'name'>, env: NodeJS.ProcessEnv = process.env): string {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  const file = path.join(service.root, '.archipelago', 'database.json');
  if (existsSync(file)) {
    try {
      const url = (JSON.parse(readFileSync(file, 'utf8')) as { url?: unknown }).url;
      if (typeof url === 'string' && url) return url;
    } catch {}
    throw new ArchipelagoError('ARCH_E_DATABASE', `${file} has no "url"; set DATABASE_URL or restart \`archipelago up\``);
  }
  throw new ArchipelagoError('ARCH_E_DATABASE',
    `no database for service "${service.name}": set DATABASE_URL, or start the service with \`archipelago up\` (which writes ${path.relative(process.cwd(), file) || file})`);
}

export async function openBroker(service: ResolvedService): Promise<Broker> {
  const broker = createBroker(service, { databaseUrl: databaseUrlFor(service), warn: (msg, err) => console.error(`warning: ${msg}: ${String(err)}`) });
  try {
    await broker.init();
  } catch (e) {
    await broker.close();
    if (e instanceof ArchipelagoError) throw e;
    throw new ArchipelagoError('ARCH_E_BROKER_UNAVAILABLE', `the ${service.broker.kind} broker cannot be reached: ${(e as Error).message}`);
  }
  return broker;
}

export function formatAge(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
