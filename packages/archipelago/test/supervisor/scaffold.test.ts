// `archipelago init` scaffolds a service that runs with `archipelago up` at once; `archipelago add`
// appends a unit to its config and creates the unit's entry file.
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { appendUnit } from '../../src/cli/add.js';
import { createTestDatabase } from '../support/db.js';
import { cli, emptyDir, freePort, httpGet, killGroup, removeDir, startUp, status, waitFor, type Running } from './helpers.js';

const REPO_MODULES = path.resolve(import.meta.dirname, '../../../../node_modules');

// Real processes start slowly on a busy machine: wait generously, never assert timings.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 180_000 });
let sup: Running | undefined;
let dir: string | undefined;

afterEach(() => {
  killGroup(sup?.pid);
  sup = undefined;
  removeDir(dir);
  dir = undefined;
});

async function init(port: number): Promise<string> {
  const parent = emptyDir();
  dir = parent;
  const target = path.join(parent, 'notes-service');
  const r = await cli(parent, ['init', 'notes-service', '--port', String(port)]);
  expect(r.code, r.stderr).toBe(0);
  // Stands in for `npm install`: the scaffold depends on archipelago and zod.
  symlinkSync(REPO_MODULES, path.join(target, 'node_modules'));
  return target;
}

describe('archipelago init and add', () => {
  it('init scaffolds a service that answers under archipelago up at once', async () => {
    const port = await freePort();
    const svc = await init(port);
    for (const f of ['package.json', 'archipelago.config.ts', 'src/units/api.ts', 'src/units/worker.ts', 'migrations/001_notes.sql', '.gitignore', 'README.md', '.ci/run']) {
      expect(existsSync(path.join(svc, f)), f).toBe(true);
    }
    expect(readFileSync(path.join(svc, '.gitignore'), 'utf8')).toContain('.archipelago/');
    expect(readFileSync(path.join(svc, '.gitignore'), 'utf8').split('\n')).toContain('.env');
    expect(JSON.parse(readFileSync(path.join(svc, 'package.json'), 'utf8')).dependencies['archipelago-toolkit']).toBe('^0.1.0');
    sup = startUp(svc, [], { DATABASE_URL: await createTestDatabase('init') });
    await waitFor('api ready', async () => (await status(svc)).units.find((u) => u.name === 'api' && u.replicas.ready === 1), 120_000);
    const res = await httpGet(port, '/notes');
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toEqual([]);
    const again = await cli(path.dirname(svc), ['init', 'notes-service']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ARCH_E_INIT_EXISTS');
  });

  it('add appends a unit and its entry file, and refuses an existing name', async () => {
    const svc = await init(await freePort());
    const added = await cli(svc, ['add', 'worker', 'digest']);
    expect(added.code, added.stderr).toBe(0);
    expect(readFileSync(path.join(svc, 'src/units/digest.ts'), 'utf8')).toContain('worker(');
    const validated = await cli(svc, ['validate', '--json']);
    expect(validated.code, validated.stdout + validated.stderr).toBe(0);
    expect(readFileSync(path.join(svc, 'archipelago.config.ts'), 'utf8')).toMatch(/\{ name: 'digest', kind: 'worker', entry: 'src\/units\/digest.ts'/);
    const again = await cli(svc, ['add', 'cron', 'digest']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ARCH_E_DUPLICATE_UNIT');
    const usage = await cli(svc, ['add', 'worker']);
    expect(usage.code).toBe(2);
  });

  it('add handles every kind, cdc included (no entry file; its tables are required)', async () => {
    const svc = await init(await freePort());
    for (const [kind, name] of [['api', 'admin'], ['realtime', 'live'], ['cron', 'nightly'], ['job', 'backfill']] as const) {
      const r = await cli(svc, ['add', kind, name]);
      expect(r.code, `${kind}: ${r.stderr}`).toBe(0);
    }
    const noTables = await cli(svc, ['add', 'cdc', 'changes']);
    expect(noTables.code).toBe(2);
    expect(noTables.stderr).toContain('--tables');
    const cdc = await cli(svc, ['add', 'cdc', 'changes', '--tables', 'notes']);
    expect(cdc.code, cdc.stderr).toBe(0);
    expect(readFileSync(path.join(svc, 'archipelago.config.ts'), 'utf8')).toContain("{ name: 'changes', kind: 'cdc', tables: ['notes'] },");
    const validated = await cli(svc, ['validate', '--json']);
    expect(validated.code, validated.stdout + validated.stderr).toBe(0);
    expect((JSON.parse(validated.stdout) as { ok: boolean }).ok).toBe(true);
  });

  it('appendUnit inserts before the closing bracket of units, keeping indentation and comments', () => {
    const src = `export default defineService({\n  name: 'x',\n  units: [\n    { name: 'a', kind: 'api', entry: 'a.ts', port: 1, tags: ['p]'] } // a ] comment\n  ],\n});\n`;
    const out = appendUnit(src, `{ name: 'b', kind: 'job', entry: 'b.ts' },`);
    expect(out).toBe(`export default defineService({\n  name: 'x',\n  units: [\n    { name: 'a', kind: 'api', entry: 'a.ts', port: 1, tags: ['p]'] }, // a ] comment\n    { name: 'b', kind: 'job', entry: 'b.ts' },\n  ],\n});\n`);
  });
});
