// Bundles the console's front end (web/) with esbuild into dist/, on demand: only when dist/ is
// missing or older than a source file, so `archipelago up` works from a fresh checkout.
import { mkdir, mkdtemp, readdir, rename, rm, stat, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = join(here, 'web');
export const DIST_DIR = join(here, 'dist');
const OUTPUTS = ['index.html', 'app.js', 'app.css'];

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? await newestMtime(p) : (await stat(p)).mtimeMs);
  }
  return newest;
}

async function oldestOutput(): Promise<number> {
  let oldest = Infinity;
  for (const f of OUTPUTS) {
    const s = await stat(join(DIST_DIR, f)).catch(() => undefined);
    if (!s) return 0;
    oldest = Math.min(oldest, s.mtimeMs);
  }
  return oldest;
}

let pending: Promise<string> | undefined;

/** Returns the folder of built assets, building it first when stale. */
export function ensureConsoleBuilt(opts: { force?: boolean } = {}): Promise<string> {
  pending ??= build(opts.force ?? false).finally(() => { pending = undefined; });
  return pending;
}

async function build(force: boolean): Promise<string> {
  // The published package ships the bundle and not its sources.
  if (!existsSync(WEB_DIR)) return DIST_DIR;
  if (!force && (await oldestOutput()) >= (await newestMtime(WEB_DIR))) return DIST_DIR;
  const { build: esbuild } = await import('esbuild');
  await mkdir(DIST_DIR, { recursive: true });
  // Build beside dist/ and move files in one by one, so a concurrent reader (another test file,
  // another `up`) never sees a half-written bundle.
  const tmp = await mkdtemp(join(here, '.dist-'));
  try {
    await esbuild({
      entryPoints: { app: join(WEB_DIR, 'main.ts') },
      bundle: true, format: 'esm', target: 'es2022', minify: true, sourcemap: false,
      outdir: tmp, logLevel: 'silent', legalComments: 'none',
    });
    await copyFile(join(WEB_DIR, 'index.html'), join(tmp, 'index.html'));
    for (const f of OUTPUTS) await rename(join(tmp, f), join(DIST_DIR, f));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return DIST_DIR;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await ensureConsoleBuilt({ force: true });
  console.log(`console built into ${DIST_DIR}`);
}
