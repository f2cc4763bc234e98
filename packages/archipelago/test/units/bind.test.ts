// Which address a replica listens on, read from the kernel's socket table: loopback by default (the
// unit's port and the admin port, api and realtime alike), every interface when ARCHIPELAGO_HOST or
// the image and the pods say so.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { freePort } from '../../src/database/index.js';
import { dockerfile, dockerignore, synthesize } from '../../src/synth/index.js';
import { bindHost, reachHost } from '../../src/units/bind.js';
import { createTestDatabase } from '../support/db.js';
import { killAll, startReplica } from '../support/replica-process.js';
import { options, referenceService } from '../synth/fixture.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hosts');
const CONFIG = path.join(FIXTURE, 'archipelago.config.ts');
let databaseUrl: string;

beforeAll(async () => { databaseUrl = await createTestDatabase('hosts_bind'); });
afterAll(() => killAll());

/** The local addresses of the listening TCP sockets on `port` (IPv4 and IPv6). */
function listeners(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A: LISTEN
      const [addr, p] = f[1]!.split(':') as [string, string];
      if (parseInt(p, 16) !== port) continue;
      if (addr.length === 8) out.push(addr.match(/../g)!.reverse().map((h) => parseInt(h, 16)).join('.'));
      else out.push(/^0+$/.test(addr) ? '::' : addr);
    }
  }
  return out;
}

async function replicaPorts(unit: 'api' | 'realtime', env: NodeJS.ProcessEnv) {
  const port = await freePort();
  const r = startReplica(['run', unit, '--config', CONFIG], {
    env: { DATABASE_URL: databaseUrl, [unit === 'api' ? 'FIXTURE_API_PORT' : 'FIXTURE_RT_PORT']: String(port), ARCHIPELAGO_ADMIN_PORT: '0', ARCHIPELAGO_HOST: undefined, ...env },
  });
  const listening = await r.message('arch:listening');
  await r.message('arch:ready');
  return { r, port, admin: listening.adminPort };
}

describe('a replica binds', { timeout: 120_000 }, () => {
  it.each(['api', 'realtime'] as const)('%s: 127.0.0.1 only by default, its port and its admin port', async (unit) => {
    const { r, port, admin } = await replicaPorts(unit, {});
    expect(listeners(port)).toEqual(['127.0.0.1']);
    expect(listeners(admin)).toEqual(['127.0.0.1']);
    expect((await fetch(`http://127.0.0.1:${admin}/healthz`)).status).toBe(200);
    r.kill();
    await r.exited;
  });

  it('every interface when ARCHIPELAGO_HOST=0.0.0.0 (what a container sets)', async () => {
    const { r, port, admin } = await replicaPorts('api', { ARCHIPELAGO_HOST: '0.0.0.0' });
    expect(listeners(port)).toEqual(['0.0.0.0']);
    expect(listeners(admin)).toEqual(['0.0.0.0']);
    r.kill();
    await r.exited;
  });

  it('refuses an ARCHIPELAGO_HOST that is not an address, naming it', async () => {
    const r = startReplica(['run', 'api', '--config', CONFIG], { env: { DATABASE_URL: databaseUrl, ARCHIPELAGO_ADMIN_PORT: '0', ARCHIPELAGO_HOST: 'everywhere' } });
    expect((await r.exited).code).toBe(2); // a usage error
    expect(r.stderr()).toContain('ARCHIPELAGO_HOST ("everywhere") must be an IP address');
  });
});

test('the image and every unit\'s pods set ARCHIPELAGO_HOST=0.0.0.0; nothing else does', () => {
  expect(bindHost({})).toBe('127.0.0.1');
  expect(dockerfile(referenceService())).toMatch(/^ENV NODE_ENV=production ARCHIPELAGO_HOST=0\.0\.0\.0$/m);
  const service = referenceService();
  const maps = synthesize(service, options).objects.filter((o) => o.kind === 'ConfigMap' && o.metadata?.name !== 'app-api-provision');
  expect(maps.map((m) => m.metadata?.name).sort()).toEqual(service.units.map((u) => `app-api-${u.name}-env`).sort());
  for (const m of maps) expect((m as { data: Record<string, string> }).data.ARCHIPELAGO_HOST, m.metadata?.name).toBe('0.0.0.0');
});

test('the supervisor probes replicas where they listen', () => {
  expect(reachHost({})).toBe('127.0.0.1');
  expect(reachHost({ ARCHIPELAGO_HOST: '0.0.0.0' })).toBe('127.0.0.1');
  expect(reachHost({ ARCHIPELAGO_HOST: '::' })).toBe('::1');
  expect(reachHost({ ARCHIPELAGO_HOST: '10.1.2.3' })).toBe('10.1.2.3');
});

test('local secrets (.env) stay out of the image\'s build context', () => {
  expect(dockerignore().split('\n')).toContain('**/.env');
});
