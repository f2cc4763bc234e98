// The api host run as a real `archipelago run api` child: probes, errors, drains and exits.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/database/index.js';
import { createTestDatabase } from '../support/db.js';
import { killAll, startReplica, type ReplicaProcess } from '../support/replica-process.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hosts');
const CONFIG = path.join(FIXTURE, 'archipelago.config.ts');
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('hosts_api');
});
afterAll(() => killAll());

async function startApi(env: NodeJS.ProcessEnv = {}): Promise<{ r: ReplicaProcess; base: string; admin: string }> {
  const port = await freePort();
  const r = startReplica(['run', 'api', '--config', CONFIG], {
    env: { DATABASE_URL: databaseUrl, FIXTURE_API_PORT: String(port), ARCHIPELAGO_ADMIN_PORT: '0', ARCHIPELAGO_REPLICA: 'api-1', FIXTURE_SECRET: 's3cret', UNDECLARED_SECRET: 'x', ...env },
  });
  const listening = await r.message('arch:listening');
  await r.message('arch:ready');
  return { r, base: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${listening.adminPort}` };
}

/** Resolves once the replica reports `n` requests in flight in its metrics. */
async function inFlight(admin: string, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const body = await (await fetch(`${admin}/metrics`)).text();
    if (new RegExp(`^archipelago_http_requests_in_flight\\{[^}]*\\} ${n}$`, 'm').test(body)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never saw ${n} request(s) in flight`);
}

describe('api host, serving', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api?.r.kill());

  it('serves routes, probes and metrics on its port and on a separate admin port, and reports load', async () => {
    const { r, base, admin } = api;
    const listening = await r.message('arch:listening');
    expect(listening.port).toBe(Number(new URL(base).port));
    expect(listening.adminPort).toBeGreaterThan(0);
    expect(listening.adminPort).not.toBe(listening.port);

    expect(await (await fetch(`${base}/hello`)).json()).toEqual({ hello: 'hello', replica: 'api-1', unit: 'api' });
    expect(await (await fetch(`${base}/db`)).json()).toEqual({ n: 42 });
    for (const url of [base, admin]) {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready' });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^process_cpu_user_seconds_total\{[^}]*unit="api"/m);
      expect(metrics).toMatch(/^archipelago_event_loop_lag_seconds\{/m);
      expect(metrics).toMatch(/^archipelago_http_requests_total\{status="200"[^}]*\} 2$/m);
    }
    const load = await r.message('arch:load', 5000);
    expect(load).toMatchObject({ inFlight: 0, connections: 0 });
    expect(load.handled).toBeGreaterThanOrEqual(2);
    expect(typeof load.eventLoopLagMs).toBe('number');

    const line = r.logs.find((l) => l.msg === 'api listening');
    expect(line).toMatchObject({ service: 'hosts-fixture', unit: 'api', replica: 'api-1' });
  });

  it('gives the unit only its env, its declared secrets and the toolkit variables', async () => {
    const { base } = api;
    const body = (await (await fetch(`${base}/config`)).json()) as { keys: string[]; secret: string };
    expect(body.secret).toBe('s3cret');
    expect(body.keys).toContain('GREETING');
    expect(body.keys).toContain('DATABASE_URL');
    expect(body.keys).not.toContain('UNDECLARED_SECRET');
    expect(body.keys).not.toContain('PATH');
  });

  it('answers errors as JSON: 404, validation 400, a thrown 500 without internals, and a chosen status as is', async () => {
    const { base } = api;
    const nf = await fetch(`${base}/nope`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /nope' } });
    const bad = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.stringContaining('name') } });
    const boom = await fetch(`${base}/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal server error' } });
    const tea = await fetch(`${base}/teapot`);
    expect(tea.status).toBe(418);
    expect(await tea.json()).toEqual({ error: { code: 'TEAPOT', message: 'short and stout' } });
  });
});

// Each of these owns a replica and ends it, so they run side by side.
describe.concurrent('api host, shutting down', () => {

  it('drains on SIGTERM: readiness fails, new requests get 503 JSON, the in-flight request completes, exit 0', async () => {
    const { r, base, admin } = await startApi();
    const slow = fetch(`${base}/slow?ms=1500`);
    await inFlight(admin, 1);
    r.child.kill('SIGTERM');
    await r.message('arch:draining');
    const ready = await fetch(`${admin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    const fresh = await fetch(`${base}/hello`);
    expect(fresh.status).toBe(503);
    expect(fresh.headers.get('connection')).toBe('close');
    expect(await fresh.json()).toMatchObject({ error: { code: 'DRAINING' } });
    const done = await slow;
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ slept: 1500 });
    expect((await r.exited).code).toBe(0);
    expect(r.logs.some((l) => l.msg === 'drained')).toBe(true);
  });

  it('drains on the supervisor\'s IPC request the same way', async () => {
    const { r } = await startApi();
    r.child.send({ type: 'arch:drain' });
    expect((await r.exited).code).toBe(0);
    expect(r.logs.find((l) => l.msg === 'draining')).toMatchObject({ reason: 'drain requested by the supervisor' });
  });

  it('exits non-zero past its grace, with one line saying what was cut', async () => {
    const { r, base, admin } = await startApi({ FIXTURE_GRACE: '300ms' });
    void fetch(`${base}/slow?ms=20000`).catch(() => {});
    void fetch(`${base}/slow?ms=20000`).catch(() => {});
    await inFlight(admin, 2);
    r.child.kill('SIGTERM');
    expect((await r.exited).code).toBe(1);
    const cut = r.logs.filter((l) => l.code === 'ARCH_E_DRAIN_TIMEOUT');
    expect(cut).toHaveLength(1);
    expect(cut[0]!.msg).toContain('cut 2 in-flight requests');
  });

  it('exits when its parent\'s IPC channel closes', async () => {
    const { r } = await startApi();
    r.child.disconnect();
    const { code } = await r.exited;
    expect(code).not.toBeNull();
  });
});

describe.concurrent('archipelago run', () => {
  it('fails with ARCH_E_ENTRY_EXPORT when an entry exports the wrong kind', async () => {
    const r = startReplica(['run', 'wrong', '--config', CONFIG], { env: { DATABASE_URL: databaseUrl, ARCHIPELAGO_ADMIN_PORT: '0' } });
    expect((await r.exited).code).toBe(1);
    expect(r.stderr()).toContain('ARCH_E_ENTRY_EXPORT');
    expect(r.stderr()).toContain('"wrong"');
  });

  it('fails with ARCH_E_DATABASE when no database is configured', async () => {
    const r = startReplica(['run', 'api', '--config', CONFIG], { env: { DATABASE_URL: undefined } });
    expect((await r.exited).code).toBe(1);
    expect(r.stderr()).toContain('ARCH_E_DATABASE');
  });

  it('fails with a usage error for an unknown unit', async () => {
    const r = startReplica(['run', 'nope', '--config', CONFIG], { env: { DATABASE_URL: databaseUrl } });
    expect((await r.exited).code).toBe(1);
    expect(r.stderr()).toContain('ARCH_E_UNKNOWN_UNIT');
  });
});
