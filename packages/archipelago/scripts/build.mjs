// `npm run build` (also run by `npm pack`): compiles src/ to dist/ (JavaScript, declarations, source
// maps) and bundles the console's front end into dist/console/dist, so the published package runs
// on plain Node. `node scripts/build.mjs <folder>` writes a complete package folder there instead
// (package.json, bin, dist, README, licence) and leaves this checkout's dist/ alone, so a test can
// pack the toolkit while other processes run the build in place.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[2] ? path.resolve(process.argv[2]) : root;
const require = createRequire(import.meta.url);
rmSync(path.join(out, 'dist'), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', path.join(out, 'dist')], { stdio: 'inherit' });
execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/console/build.ts')], { stdio: ['ignore', 'ignore', 'inherit'], cwd: root });
cpSync(path.join(root, 'src/console/dist'), path.join(out, 'dist/console/dist'), { recursive: true });
// The package carries the repository's README and licence (copies, ignored by git).
for (const f of ['README.md', 'LICENSE']) cpSync(path.join(root, '../..', f), path.join(out, f));
if (out !== root) for (const f of ['package.json', 'bin']) cpSync(path.join(root, f), path.join(out, f), { recursive: true });
