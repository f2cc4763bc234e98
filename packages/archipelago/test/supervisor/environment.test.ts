// Locally each replica's environment is what its pod's would be: the unit's env, its declared
// secrets (from the supervisor's environment or .env) and the toolkit's variables, plus what a
// process needs to run. An undeclared secret is absent here as in the manifests.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadService } from '../../src/service/index.js';
import { LOCAL_VARS, missingSecrets, RUNTIME_VARS } from '../../src/supervisor/env.js';
import { podSpecOf, synthesize } from '../../src/synth/index.js';
import { createTestDatabase } from '../support/db.js';
import { copyFixture, freePort, killGroup, removeDir, startUp, waitFor, type Running } from './helpers.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });
const started: Running[] = [];
afterAll(() => { for (const s of started) { killGroup(s.pid); removeDir(s.dir); } });

/** Set by Node for a cluster worker, not by us. */
const NODE_INTERNAL = ['NODE_UNIQUE_ID', 'NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE'];
const SECRETS = { DECLARED_SECRET: 'declared-value', UNDECLARED_SECRET: 'undeclared-value', OTHER_SECRET: 'other-value' };

describe('a local replica\'s environment', () => {
  it('holds exactly what the pod\'s holds: declared secrets present, undeclared ones absent', async () => {
    const dir = copyFixture('env');
    writeFileSync(path.join(dir, '.env'), 'DOTENV_SECRET=from-dotenv\nUNDECLARED_IN_FILE=nope\n');
    const port = await freePort();
    const sup = startUp(dir, [], { DATABASE_URL: await createTestDatabase('env_parity'), FIXTURE_PORT: String(port), ...SECRETS });
    started.push(sup);
    const seen = await waitFor('the web unit', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/env`).catch(() => undefined);
      return r?.ok ? (await r.json()) as { env: Record<string, string>; config: Record<string, string> } : undefined;
    }, 180_000, 300);

    for (const where of [seen.env, seen.config]) {
      expect(where.DECLARED_SECRET).toBe('declared-value');
      expect(where.DOTENV_SECRET).toBe('from-dotenv');
      expect(where.PLAIN).toBe('plain-value');
      for (const absent of ['UNDECLARED_SECRET', 'OTHER_SECRET', 'UNDECLARED_IN_FILE', 'OPTIONAL_FLAG', 'FIXTURE_PORT', 'ARCHIPELAGO_SUPERVISOR']) {
        expect(Object.keys(where), absent).not.toContain(absent);
      }
    }

    // The same names as the pod synth makes from the same declaration, but for what only a process needs.
    process.env.FIXTURE_PORT = String(port);
    const { service } = await loadService(path.join(dir, 'archipelago.config.ts'));
    delete process.env.FIXTURE_PORT;
    const objects = synthesize(service, { image: 'x:1', namespace: 'env', environment: 'production', subscriptions: new Map() }).objects;
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'fixture-env-web-env') as { data: Record<string, string> };
    const container = podSpecOf(objects.find((o) => o.kind === 'Deployment')!)!.containers[0]!;
    const runtime = new Set<string>([...RUNTIME_VARS, ...LOCAL_VARS, ...NODE_INTERNAL]);
    const pod = [...Object.keys(map.data), ...container.env!.map((e) => e.name)].filter((n) => !runtime.has(n) && n !== 'OPTIONAL_FLAG');
    const local = Object.keys(seen.env).filter((n) => !runtime.has(n));
    expect(local.sort()).toEqual(pod.sort());
    expect(seen.env.PORT).toBe(map.data.PORT);
    expect(seen.env.ARCHIPELAGO_ENVIRONMENT).toBe('local');
    // Every name the process got is accounted for: the pod's, or one of the documented runtime ones.
    for (const n of Object.keys(seen.env)) expect(runtime.has(n) || pod.includes(n), n).toBe(true);
  });

  it('a required secret that is not set stops `up` before anything starts, naming unit and secret', async () => {
    const dir = copyFixture('env');
    const sup = startUp(dir, [], { DATABASE_URL: await createTestDatabase('env_missing'), FIXTURE_PORT: String(await freePort()), DECLARED_SECRET: 'x', DOTENV_SECRET: 'y' });
    started.push(sup);
    expect(await sup.exited).toBe(1);
    expect(sup.output()).toContain('ARCH_E_SECRET_MISSING');
    expect(sup.output()).toContain('unit "other" needs secret OTHER_SECRET');
  });
});

it('missingSecrets ignores optional secrets and counts .env and the environment alike', () => {
  const units = [{ name: 'a', secrets: ['X', 'Y'], optionalSecrets: ['Y'] }] as never;
  expect(missingSecrets(units, {})).toEqual(['unit "a" needs secret X']);
  expect(missingSecrets(units, { X: '' })).toEqual([]);
});
