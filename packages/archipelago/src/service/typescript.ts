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

// Under vitest, Vite compiles TypeScript itself.
const registered = () => Boolean((globalThis as Record<symbol, unknown>)[REGISTERED]) || '__vitest_worker__' in globalThis;

async function registerTypeScript(file: string, root: string): Promise<void> {
  if (registered()) return;
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

/**
 * Imports one of the service's files; `fresh` bypasses the module cache (a file just rewritten).
 * `native` first tries Node's own type stripping (Node 22.18+, 24): a config that imports only
 * packages loads without tsx, whose hooks would double the cost of loading the toolkit behind it
 * (what keeps `archipelago validate` fast). Anything stripping cannot run (a relative `./x.js` import
 * of a `.ts` file, an enum) is loaded again through tsx.
 */
export async function importServiceModule(file: string, root: string, opts: { fresh?: boolean; native?: boolean } = {}): Promise<{ default?: unknown }> {
  const url = pathToFileURL(file).href + (opts.fresh ? `?v=${Date.now()}` : '');
  if (!isTypeScript(file)) return (await import(url)) as { default?: unknown };
  if (opts.native && (process.features as { typescript?: unknown }).typescript && !registered()) {
    try {
      return (await import(url)) as { default?: unknown };
    } catch {
      // The failed attempt stays cached under its URL; a query makes tsx's attempt a new module.
      await registerTypeScript(file, root);
      return (await import(`${url}${opts.fresh ? '&' : '?'}tsx`)) as { default?: unknown };
    }
  }
  await registerTypeScript(file, root);
  return (await import(url)) as { default?: unknown };
}

/** A compiled config (`.js`) names its entries as written in the sources (`.ts`): use the compiled file. */
export function compiledEntry(configPath: string, entryPath: string): string {
  return isTypeScript(configPath) ? entryPath : entryPath.replace(/\.([cm]?)tsx?$/, '.$1js');
}
