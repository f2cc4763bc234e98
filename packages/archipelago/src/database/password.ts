// The embedded PostgreSQL's superuser password: random, made once per data directory and kept
// beside it (`.archipelago/pg.password`, mode 0600), so that another user of the machine cannot log
// in over TCP as they could with the well-known `postgres`/`postgres`. The URL that carries it is
// handed only to the supervisor's own processes (and `.archipelago/database.json`, also 0600).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { ArchipelagoError } from '../errors.js';

/** What data directories made before passwords were random used; replaced on their next start. */
export const LEGACY_PASSWORD = 'postgres';

export function passwordFile(dataDir: string): string {
  return `${dataDir}.password`;
}

function read(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const pw = readFileSync(file, 'utf8').trim();
  return pw === '' ? undefined : pw;
}

function write(file: string, password: string): void {
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode through writeFileSync
}

/** 192 random bits, URL-safe (the password travels inside DATABASE_URL). */
const fresh = (): string => randomBytes(24).toString('base64url');

export function readPassword(dataDir: string): string | undefined {
  return read(passwordFile(dataDir));
}

/** The password for a data directory about to be initialised: written before initdb runs. */
export function passwordForNewDirectory(dataDir: string): string {
  const existing = readPassword(dataDir);
  if (existing) return existing;
  const pw = fresh();
  write(passwordFile(dataDir), pw);
  return pw;
}

/**
 * A data directory from before random passwords: log in with the old one and replace it. The new
 * password is written to `<file>.new` first and moved into place only after PostgreSQL took it, so
 * a crash in between leaves a password that still works.
 */
export async function replaceLegacyPassword(dataDir: string, port: number, user: string): Promise<string> {
  const file = passwordFile(dataDir);
  const pending = `${file}.new`;
  const next = read(pending) ?? fresh();
  write(pending, next);
  let lastError: unknown;
  for (const current of [next, LEGACY_PASSWORD]) {
    const c = new pg.Client({ host: '127.0.0.1', port, user, password: current, database: 'postgres' });
    c.on('error', () => {});
    try {
      await c.connect();
    } catch (e) {
      lastError = e;
      continue;
    }
    try {
      await c.query(`ALTER ROLE ${pg.escapeIdentifier(user)} PASSWORD ${pg.escapeLiteral(next)}`);
    } finally {
      await c.end().catch(() => {});
    }
    renameSync(pending, file);
    return next;
  }
  throw new ArchipelagoError('ARCH_E_DATABASE', `embedded PostgreSQL in ${dataDir}: no password file (${file}) and the old default password is refused: ${(lastError as Error)?.message}`);
}
