// Advisory-lock keys come from names, through one helper, and no two purposes share one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { advisoryLockKey, TOOLKIT_LOCKS } from '../../src/database/locks.js';
import { relayNames } from '../../src/cdc/prepare.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('distinct purposes get distinct keys, the same name the same key', () => {
  const names = [
    TOOLKIT_LOCKS.migrations, TOOLKIT_LOCKS.postgresBrokerSetup, TOOLKIT_LOCKS.natsBrokerSetup, TOOLKIT_LOCKS.natsOutboxRelay,
    TOOLKIT_LOCKS.cdcRelay(relayNames('app-api', 'changes').slot), TOOLKIT_LOCKS.cdcRelay(relayNames('shop', 'changes').slot),
    'app-api.demo-seed',
  ];
  const keys = names.map(advisoryLockKey);
  expect(new Set(keys).size).toBe(names.length);
  expect(advisoryLockKey('app-api.demo-seed')).toBe(keys.at(-1));
  for (const k of keys) {
    const n = BigInt(k);
    expect(n >= -(2n ** 63n) && n < 2n ** 63n).toBe(true);
  }
  // The numbers once picked by hand are gone: 7361002 was both demo-seed's and the broker's.
  for (const old of ['7361001', '7361002', '7361003', '7361004']) expect(keys).not.toContain(old);
});

test('a name without a namespace is refused with a coded error', () => {
  expect(() => advisoryLockKey('demo-seed')).toThrow(expect.objectContaining({ code: 'ARCH_E_INVALID_VALUE' }));
  expect(() => advisoryLockKey('App.Seed')).toThrow(/must be "<namespace>.<purpose>"/);
});

test('every advisory lock in the toolkit and app-api takes a key from the helper', () => {
  const files = [...sources(path.join(REPO, 'packages/archipelago/src')), ...sources(path.join(REPO, 'services/app-api/src'))];
  const calls: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/pg_(?:try_)?advisory_(?:xact_)?(?:un)?lock(?:_shared)?\(([^)]*)\)/g)) {
      calls.push(`${path.relative(REPO, f)}: ${m[0]}`);
      // A bound parameter or an embedded constant, both computed by advisoryLockKey; never a literal or hashtext.
      expect(m[1], `${path.relative(REPO, f)}: ${m[0]}`).toMatch(/^(\$\d+|\$\{[A-Z_]+\})::bigint$/);
      expect(text, f).toMatch(/advisoryLockKey\(/);
    }
  }
  expect(calls.length).toBeGreaterThanOrEqual(8);
});
