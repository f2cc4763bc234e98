// A throwaway embedded PostgreSQL for a benchmark run, in a temp folder removed afterwards.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../../../packages/archipelago/src/database/index.js';

export async function withPostgres<T>(fn: (newDatabase: (name: string) => Promise<string>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'archipelago-bench-pg-'));
  chmodSync(dir, 0o755);
  const db = await startEmbedded({ dataDir: path.join(dir, 'data') });
  try {
    return await fn((name) => db.ensureDatabase(name));
  } finally {
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
