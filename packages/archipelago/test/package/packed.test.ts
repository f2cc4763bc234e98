// The toolkit as a user gets it: packed, `archipelago init` run from the unpacked tarball in an empty
// folder outside this workspace, installed from the tarball, the scaffold's own tests, then
// `archipelago up` serving its API while its worker handles what the API publishes.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { imageLayout } from '../../src/synth/dockerfile.js';
import type { ResolvedService } from '../../src/service/types.js';
import { createTestDatabase } from '../support/db.js';
import { freePort, groupMembers, killGroup, waitFor } from '../supervisor/helpers.js';

vi.setConfig({ testTimeout: 600_000, hookTimeout: 120_000 });

const PACKAGE = path.resolve(import.meta.dirname, '../..');
const TOOLKIT = JSON.parse(readFileSync(path.join(PACKAGE, 'package.json'), 'utf8')) as { name: string; version: string };
const root = mkdtempSync(path.join(os.tmpdir(), 'archipelago-packed-'));
// Run as root, embedded PostgreSQL runs as `postgres`, which must reach the service's .archipelago/.
chmodSync(root, 0o755);
const svc = path.join(root, 'work', 'notes');
let tarball = '';
let port = 0;
let supervisor: number | undefined;
let replica: number | undefined;

// The user's shell, not `npm test`'s: no npm_* settings leak in, and `node` is the one running us.
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_|^INIT_CWD$|^VITEST|^NODE_OPTIONS$/i.test(k)) env[k] = v;
  return { ...env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1', ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: userEnv(env), timeout: 480_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

afterAll(() => {
  killGroup(supervisor);
  killGroup(replica);
  rmSync(root, { recursive: true, force: true });
});

describe('the packed toolkit in a service of its own', () => {
  it('packs the build, README and licence, and no sources or tests', async () => {
    const stage = path.join(root, 'stage');
    const built = await run(process.execPath, [path.join(PACKAGE, 'scripts/build.mjs'), stage], PACKAGE);
    expect(built.code, built.stderr).toBe(0);
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], stage);
    expect(packed.code, packed.stderr).toBe(0);
    const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    tarball = path.join(root, info.filename);
    const files = info.files.map((f) => f.path);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/archipelago.js', 'dist/index.js', 'dist/index.d.ts', 'dist/index.js.map',
      'dist/cli/main.js', 'dist/testing/index.d.ts', 'dist/synth/pulumi.js', 'dist/console/dist/app.js']) expect(files, f).toContain(f);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
  });

  it('init from the unpacked tarball writes a service that installs without unexplained warnings', async () => {
    const unpacked = path.join(root, 'toolkit');
    mkdirSync(unpacked);
    expect((await run('tar', ['xzf', tarball, '-C', unpacked], root)).code).toBe(0);
    mkdirSync(path.dirname(svc), { recursive: true });
    port = await freePort();
    const init = await run(process.execPath, [path.join(unpacked, 'package/bin/archipelago.js'), 'init', 'notes', '--toolkit', tarball, '--port', String(port)], path.dirname(svc));
    expect(init.code, init.stderr).toBe(0);
    const pkg = JSON.parse(readFileSync(path.join(svc, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies[TOOLKIT.name]).toBe(`file:vendor/${path.basename(tarball)}`);
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], svc);
    expect(install.code, install.stderr).toBe(0);
    // Node.js 20 is past its end of life: there npm warns that the toolkit and kubernetes-models want 22 (README).
    const explained = Number(process.versions.node.split('.')[0]) < 22 ? /EBADENGINE/ : /^$/;
    const warnings = install.stderr.split('\n').filter((l) => /^npm warn/i.test(l) && !explained.test(l));
    expect(warnings).toEqual([]);
  });

  it("the scaffold's own type-check and tests pass against a real PostgreSQL", async () => {
    const typecheck = await run('npm', ['run', 'typecheck'], svc);
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
    const test = await run('npm', ['test'], svc);
    expect(test.code, test.stdout + test.stderr).toBe(0);
    // TAP (Node 20) prints "# pass 2", the spec reporter (Node 24) "ℹ pass 2".
    expect(test.stdout).toMatch(/\bpass 2\b/);
    expect(test.stdout).toMatch(/\bfail 0\b/);
  });

  it('without @pulumi/*, importing the pulumi entry fails with a coded error naming them', async () => {
    const r = await run(process.execPath, ['--input-type=module', '-e', `await import('${TOOLKIT.name}/pulumi')`], svc);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('ARCH_E_PEER_MISSING');
    expect(r.stderr).toContain('npm install @pulumi/pulumi @pulumi/kubernetes');
  });

  it('archipelago up serves the API, the worker handles what it publishes, and stop leaves no process', async () => {
    const child = spawn(path.join(svc, 'node_modules/.bin/archipelago'), ['up', '--no-console'], { cwd: svc, env: userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    supervisor = child.pid;
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`api on ${port}`, async () => (await fetch(`${base}/`).catch(() => undefined))?.ok, 240_000, 500)
      .catch((e: Error) => { throw new Error(`${e.message}\n${out}`); });
    const created = await fetch(`${base}/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'from the packed test' }) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: number };
    await waitFor('the worker marks the note seen', async () => {
      const notes = (await (await fetch(`${base}/notes`)).json()) as { id: number; seen: boolean }[];
      return notes.find((n) => n.id === id)?.seen;
    }, 120_000, 500).catch((e: Error) => { throw new Error(`${e.message}\n${out}`); });
    // The line comes through the supervisor's log pipe, which may trail the row it reports.
    await waitFor('the worker\'s log line', () => /worker\/1 .*note seen/.test(out), 30_000, 100).catch(() => undefined);
    expect(out).toMatch(/worker\/1 .*note seen/);
    process.kill(child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    await waitFor('no process left in the group', () => groupMembers(child.pid!).length === 0, 30_000);
    supervisor = undefined;
  });

  it("the Dockerfile's layout (build output and production dependencies only) starts an api replica on plain node", async () => {
    const built = await run('npm', ['run', 'build'], svc);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const synth = await run(path.join(svc, 'node_modules/.bin/archipelago'), ['synth', '--dockerfile'], svc);
    expect(synth.code, synth.stderr).toBe(0);
    const docker = readFileSync(path.join(svc, 'Dockerfile'), 'utf8');
    expect(docker).toMatch(/^COPY vendor \.\/vendor$/m);
    expect(docker).toContain(`"node","/app/node_modules/${TOOLKIT.name}/bin/archipelago.js"`);
    // What the build stage does after `npm run build`, without Docker: the same copies, then a production install.
    const image = path.join(root, 'image');
    mkdirSync(image);
    const service = { root: svc, migrationsDir: path.join(svc, 'migrations') } as ResolvedService;
    for (const [from, to] of imageLayout(service, { vendor: true }).copy) cpSync(path.join(svc, from), path.join(image, to), { recursive: true });
    const install = await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], image);
    expect(install.code, install.stderr).toBe(0);
    for (const dev of ['tsx', 'typescript', 'esbuild']) expect(existsSync(path.join(image, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(path.join(image, 'archipelago.config.js'))).toBe(true);
    const bin = path.join(image, 'node_modules', TOOLKIT.name, 'bin/archipelago.js');
    const databaseUrl = await createTestDatabase('image');
    const migrate = await run(process.execPath, [bin, 'run', 'migrate'], image, { DATABASE_URL: databaseUrl });
    expect(migrate.code, migrate.stdout + migrate.stderr).toBe(0);
    const child = spawn(process.execPath, [bin, 'run', 'api'], { cwd: image, env: userEnv({ DATABASE_URL: databaseUrl, ARCHIPELAGO_ADMIN_PORT: '0' }), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    replica = child.pid;
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const base = `http://127.0.0.1:${port}`;
    const hello = await waitFor(`api replica on ${port}`, async () => {
      const r = await fetch(`${base}/`).catch(() => undefined);
      return r?.ok ? (await r.json()) as { service: string } : undefined;
    }, 120_000, 300).catch((e: Error) => { throw new Error(`${e.message}\n${out}`); });
    expect(hello.service).toBe('notes');
    expect((await fetch(`${base}/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"in the image"}' })).status).toBe(201);
    process.kill(child.pid!, 'SIGTERM');
    await waitFor('the replica drains and exits', () => groupMembers(child.pid!).length === 0, 60_000);
    replica = undefined;
    // Without tsx in the image, a TypeScript config that needs it is refused with a coded error.
    mkdirSync(path.join(image, 'probe'));
    writeFileSync(path.join(image, 'probe/archipelago.config.ts'), "enum Tier { Free }\nexport default { name: 'probe', units: [], tier: Tier.Free };\n");
    const probe = await run(process.execPath, [bin, 'validate', '--config', 'probe/archipelago.config.ts'], image);
    expect(probe.code).toBe(1);
    expect(probe.stderr).toContain('ARCH_E_TYPESCRIPT');
  });
});
