// A built service's config is `archipelago.config.js`: its entries, written as the sources' `.ts`
// paths, resolve to the compiled `.js` files beside it, so the image runs without a TypeScript loader.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findConfig, validateService } from '../../src/service/index.js';
import { compiledEntry, isTypeScript } from '../../src/service/typescript.js';

describe('a built service', () => {
  it('maps .ts entries to .js only for a compiled config', () => {
    expect(compiledEntry('/a/archipelago.config.js', '/a/src/units/api.ts')).toBe('/a/src/units/api.js');
    expect(compiledEntry('/a/archipelago.config.js', '/a/src/units/api.mts')).toBe('/a/src/units/api.mjs');
    expect(compiledEntry('/a/archipelago.config.ts', '/a/src/units/api.ts')).toBe('/a/src/units/api.ts');
    expect(isTypeScript('/a/b.ts')).toBe(true);
    expect(isTypeScript('/a/b.js')).toBe(false);
  });

  it('finds archipelago.config.js when there is no .ts config, and validates its compiled entries', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'built-'));
    mkdirSync(path.join(root, 'src/units'), { recursive: true });
    writeFileSync(path.join(root, 'src/units/api.js'), 'export default {};');
    writeFileSync(path.join(root, 'archipelago.config.js'), 'export default {};');
    const configPath = findConfig(undefined, path.join(root, 'src'));
    expect(configPath).toBe(path.join(root, 'archipelago.config.js'));
    const r = validateService({ name: 'built', units: [{ name: 'api', kind: 'api', entry: 'src/units/api.ts', port: 3000 }] }, { root, configPath });
    expect(r.errors).toEqual([]);
    expect(r.service!.units[0]!.entryPath).toBe(path.join(root, 'src/units/api.js'));
  });

  it('reports a missing compiled entry under its compiled path', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'built-'));
    const r = validateService({ name: 'built', units: [{ name: 'api', kind: 'api', entry: 'src/units/api.ts', port: 3000 }] }, { root, configPath: path.join(root, 'archipelago.config.js') });
    expect(r.errors[0]).toMatchObject({ code: 'ARCH_E_ENTRY_NOT_FOUND' });
    expect(r.errors[0]!.message).toContain(path.join(root, 'src/units/api.js'));
  });
});
