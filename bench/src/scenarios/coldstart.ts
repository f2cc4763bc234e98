// Cold starts: fork → ready of one api replica and one worker replica of app-api, and `archipelago
// up` → API ready (a fresh data folder, then a second start), with the toolkit's build against its
// TypeScript sources through tsx (the path every process took before the build existed), plus the
// CLI's `status --json` and `validate`. Both paths in the same run, alternating, median of several.
import { execFileSync, fork } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { lower, type Figure, type Scenario, type Size } from '../types.js';
import { appConfig, BIN, endGroup, r2, repoRoot, seedApp, spawnGroup, waitHttp, workspace, type AppConfig } from '../lib/harness.js';

// Small (the test suite's smoke run) starts only the api under `up` and skips the second start.
const PLAN = {
  small: { replicaStarts: 1, upStarts: 1, upArgs: ['--only', 'api'], again: false },
  full: { replicaStarts: 7, upStarts: 3, upArgs: [], again: true },
} as const;
const MODES = { built: { ARCHIPELAGO_BUILT: '1' }, tsx: { ARCHIPELAGO_BUILT: '0' } } as const;
type Mode = keyof typeof MODES;

const toolkit = path.join(repoRoot, 'packages/archipelago');

function newest(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name.startsWith('.dist-')) continue;   // the console bundle, an output
    const p = path.join(dir, e.name);
    n = Math.max(n, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return n;
}
const builtIsCurrent = () => existsSync(path.join(toolkit, 'dist/index.js')) && statSync(path.join(toolkit, 'dist/index.js')).mtimeMs > newest(path.join(toolkit, 'src'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/** ms from fork until the replica reports ready over IPC, as the supervisor sees it. */
async function replicaStart(cfg: AppConfig, url: string, unit: string, mode: Mode): Promise<number> {
  const started = performance.now();
  const child = fork(BIN, ['run', unit, '--config', cfg.path], {
    cwd: cfg.root, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, ...MODES[mode], DATABASE_URL: url, ARCHIPELAGO_ADMIN_PORT: '0', ARCHIPELAGO_REPLICA: `${unit}-cold` },
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => { err = (err + c.toString()).slice(-4000); });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${unit} (${mode}) not ready in 120 s: ${err}`)), 120_000);
      child.on('message', (m: { type?: string }) => { if (m.type === 'arch:ready') { clearTimeout(timer); resolve(); } });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${unit} (${mode}) exited ${code} before ready: ${err}`)); });
    });
    return performance.now() - started;
  } finally {
    child.removeAllListeners('exit');
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(kill);
  }
}

/** ms from spawning `archipelago up` (embedded PostgreSQL in the config's folder) until the API answers. */
async function upStart(cfg: AppConfig, mode: Mode, fresh: boolean, args: readonly string[]): Promise<number> {
  if (fresh) rmSync(path.join(cfg.root, '.archipelago'), { recursive: true, force: true });
  const started = performance.now();
  // No DATABASE_URL: the supervisor starts its embedded PostgreSQL, as `npm start` does.
  const env: NodeJS.ProcessEnv = { ...MODES[mode], DATABASE_URL: '', ARCHIPELAGO_SUPERVISOR: JSON.stringify({ autoscale: false }) };
  const child = spawnGroup(process.execPath, [BIN, 'up', '--config', cfg.path, '--json', '--no-console', ...args], { cwd: cfg.root, env });
  try {
    await waitHttp(`http://127.0.0.1:${cfg.ports.api}/healthz`, 200, 300_000, child);
    return performance.now() - started;
  } finally {
    await endGroup(child, 30_000);
  }
}

function cliWall(cfg: AppConfig, args: string[], mode: Mode): number {
  const started = performance.now();
  try {
    execFileSync(process.execPath, [BIN, ...args, '--config', cfg.path], { cwd: cfg.root, env: { ...process.env, ...MODES[mode] }, stdio: 'ignore' });
  } catch { /* status exits 1 when no supervisor runs: the time to say so is what is measured */ }
  return performance.now() - started;
}

async function run(size: Size): Promise<Figure[]> {
  const plan = PLAN[size];
  // The build the published package ships, made here (unless current) so both paths run from this checkout.
  if (!builtIsCurrent()) execFileSync(process.execPath, [path.join(toolkit, 'scripts/build.mjs')], { stdio: 'ignore' });
  const ws = await workspace('coldstart');
  try {
    const url = await ws.db.ensureDatabase('app');
    await seedApp(url, 50);
    const cfg = await appConfig(ws.dir);
    const t: Record<string, Record<Mode, number[]>> = {};
    const add = (k: string, m: Mode, v: number) => (((t[k] ??= { built: [], tsx: [] })[m]).push(v));
    for (let i = 0; i < plan.replicaStarts; i++) {
      for (const mode of (i % 2 ? ['tsx', 'built'] : ['built', 'tsx']) as Mode[]) {
        add('api', mode, await replicaStart(cfg, url, 'api', mode));
        add('worker', mode, await replicaStart(cfg, url, 'background', mode));
        add('status', mode, cliWall(cfg, ['status', '--json'], mode));
        add('validate', mode, cliWall(cfg, ['validate'], mode));
      }
    }
    for (let i = 0; i < plan.upStarts; i++) {
      for (const mode of (i % 2 ? ['tsx', 'built'] : ['built', 'tsx']) as Mode[]) {
        add('up-fresh', mode, await upStart(cfg, mode, true, plan.upArgs));
        if (plan.again) add('up-again', mode, await upStart(cfg, mode, false, plan.upArgs));
      }
    }
    const fig = (key: string, name: string): Figure => {
      const ours = median(t[key]!.built), base = median(t[key]!.tsx);
      return { name: `${name} (built vs tsx, median of ${t[key]!.built.length})`, unit: 'ms', ours: r2(ours), baseline: r2(base), ratio: r2(lower(ours, base)) };
    };
    return [
      fig('api', 'api replica fork → ready'),
      fig('worker', 'worker replica fork → ready'),
      fig('up-fresh', 'archipelago up → API ready, fresh data folder'),
      ...(plan.again ? [fig('up-again', 'archipelago up → API ready, second start')] : []),
      fig('status', 'archipelago status --json wall'),
      fig('validate', 'archipelago validate wall'),
    ];
  } finally {
    await ws.stack.close();
  }
}

const scenario: Scenario = { name: 'coldstart', run };
export default scenario;
