#!/usr/bin/env node
// The `archipelago` command. Installed from the registry it runs the compiled CLI (dist/) on plain
// Node. In a checkout of the toolkit (src/ beside this folder) it runs the TypeScript sources through
// tsx with the `source` export condition, so the workspace needs no build step;
// ARCHIPELAGO_BUILT=1 runs the build there instead (the cold-start benchmark compares the two).
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const fromSource = process.env.ARCHIPELAGO_BUILT !== '1' && existsSync(new URL('../src/cli/main.ts', import.meta.url));
if (fromSource) {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  // The CLI loads the service's config, which imports the toolkit by name: resolve that to src/ too.
  register('data:text/javascript,export function resolve(s,c,n){return n(s,{...c,conditions:[...c.conditions,"source"]})}');
  globalThis[Symbol.for('archipelago.typescript')] = true;
}
const { main } = await import(fromSource ? '../src/cli/main.ts' : '../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
