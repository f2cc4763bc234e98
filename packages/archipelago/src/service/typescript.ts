// Imports the service's own modules (its config and entry files). The toolkit itself is compiled
// JavaScript; a service's TypeScript runs through tsx, registered on the first `.ts` import, so a
// built service (its config compiled to `archipelago.config.js`) runs on plain Node.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ArchipelagoError } from '../errors.js';

// Set by the workspace launcher (bin/archipelago.js), which registers tsx itself.
const REGISTERED = Symbol.for('archipelago.typescript');
const TS_FILE = /\.[cm]?tsx?$/;
let pending: Promise<void> | undefined;

export function isTypeScript(file: string): boolean {
  return TS_FILE.test(file);
}

/** tsx's ESM loader, from the service's dependencies first, then the toolkit's; undefined if neither has it. */
export function resolveTsx(root: string, subpath = 'tsx'): string | undefined {
  for (const from of [path.join(root, 'package.json'), import.meta.filename ?? new URL(import.meta.url).pathname]) {
    try { return createRequire(from).resolve(subpath); } catch {}
  }
  return undefined;
}

async function registerTypeScript(file: string, root: string): Promise<void> {
  // Under vitest, Vite compiles TypeScript itself.
  if ((globalThis as Record<symbol, unknown>)[REGISTERED] || '__vitest_worker__' in globalThis) return;
  pending ??= (async () => {
    const api = resolveTsx(root, 'tsx/esm/api');
    if (!api) {
      throw new ArchipelagoError('ARCH_E_TYPESCRIPT',
        `${file} is TypeScript and tsx is not installed: run \`npm install --save-dev tsx\` in ${root}, or build the service to JavaScript and pass --config <build>/archipelago.config.js`);
    }
    // `require.resolve` finds tsx's CommonJS build; its ES module build sits beside it.
    const esm = api.replace(/\.cjs$/, '.mjs');
    const { register } = (await import(pathToFileURL(existsSync(esm) ? esm : api).href)) as { register: () => unknown };
    register();
    (globalThis as Record<symbol, unknown>)[REGISTERED] = true;
  })();
  await pending;
}

/** Imports one of the service's files; `fresh` bypasses the module cache (a file just rewritten). */
export async function importServiceModule(file: string, root: string, fresh = false): Promise<{ default?: unknown }> {
  if (isTypeScript(file)) await registerTypeScript(file, root);
  return (await import(pathToFileURL(file).href + (fresh ? `?v=${Date.now()}` : ''))) as { default?: unknown };
}

/** A compiled config (`.js`) names its entries as written in the sources (`.ts`): use the compiled file. */
export function compiledEntry(configPath: string, entryPath: string): string {
  return isTypeScript(configPath) ? entryPath : entryPath.replace(/\.([cm]?)tsx?$/, '.$1js');
}
