// The dependency rules `npm run lint` checks (.dependency-cruiser.cjs) hold on the repository, and
// they are able to fail: planted in a copy of the layout, a cycle, a unit host reaching into the
// supervisor, synth loading the pg client and the reference service importing an internal module
// are each reported by name, and the check exits non-zero.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = path.join(repo, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function cruise(cwd: string): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [CLI, 'packages/archipelago/src', 'services/app-api', '--config', '.dependency-cruiser.cjs'], { cwd });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout + x.stderr };
  }
}

describe('dependency rules', () => {
  it('the repository keeps them', async () => {
    const r = await cruise(repo);
    expect(r.out).toContain('no dependency violations found');
    expect(r.code).toBe(0);
  }, 120_000);

  it('fail on a planted cycle, a unit host importing the supervisor, synth loading pg and app-api importing an internal', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'archipelago-boundaries-'));
    dirs.push(dir);
    copyFileSync(path.join(repo, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', allowImportingTsExtensions: true, noEmit: true } }));
    const file = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    };
    file('packages/archipelago/src/messaging/a.ts', "import { b } from './b.ts';\nexport const a = () => b;\n");
    file('packages/archipelago/src/messaging/b.ts', "import { a } from './a.ts';\nexport const b = () => a;\n");
    file('packages/archipelago/src/supervisor/loop.ts', 'export const loop = 1;\n');
    file('packages/archipelago/src/units/host.ts', "import { loop } from '../supervisor/loop.ts';\nexport const host = loop;\n");
    mkdirSync(path.join(dir, 'node_modules/pg'), { recursive: true });
    writeFileSync(path.join(dir, 'node_modules/pg/package.json'), JSON.stringify({ name: 'pg', main: 'index.js' }));
    writeFileSync(path.join(dir, 'node_modules/pg/index.js'), 'module.exports = {};\n');
    file('packages/archipelago/src/synth/objects.ts', "import pg from 'pg';\nexport const objects = pg;\n");
    file('services/app-api/src/units/api.ts', "import { host } from '../../../../packages/archipelago/src/units/host.ts';\nexport default host;\n");
    const r = await cruise(dir);
    expect(r.code).not.toBe(0);
    for (const rule of ['no-circular', 'units-not-supervisor', 'pure-synth-no-clients', 'app-api-public-entries']) expect(r.out, rule).toContain(rule);
  }, 120_000);
});
