// `npm run build`: compiles src/ to dist/ (JavaScript, declarations, source maps) and bundles the
// console's front end into dist/console/dist, so the published package runs on plain Node.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
rmSync(`${root}/dist`, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', `${root}/tsconfig.build.json`], { stdio: 'inherit' });
execFileSync(process.execPath, ['--import', 'tsx', `${root}/src/console/build.ts`], { stdio: 'inherit', cwd: root });
cpSync(`${root}/src/console/dist`, `${root}/dist/console/dist`, { recursive: true });
// The package carries the repository's README and licence (copies, ignored by git).
for (const f of ['README.md', 'LICENSE']) cpSync(`${root}/../../${f}`, `${root}/${f}`);
