// No hidden start-up work on the request path (finding 8) and drains that tell the truth (finding 9),
// on a real `archipelago run api` replica of the delivery fixture.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { killAll, startReplica, type ReplicaProcess } from '../support/replica-process.js';
import { freePort } from '../supervisor/helpers.js';
import { DELIVERY_CONFIG, until } from '../messaging/delivery-support.js';

let databaseUrl = '';
beforeAll(async () => { databaseUrl = await createTestDatabase('api_startup'); });
afterAll(() => { killAll(); });

async function startApi(env: NodeJS.ProcessEnv = {}): Promise<{ r: ReplicaProcess; base: string; admin: string }> {
  const port = await freePort();
  const r = startReplica(['run', 'api', '--config', DELIVERY_CONFIG], { env: { DATABASE_URL: databaseUrl, DELIVERY_API_PORT: String(port), ARCHIPELAGO_REPLICA: `api-${port}`, ...env } });
  await r.message('arch:ready');
  return { r, base: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${port}` };
}
const post = (url: string, body: unknown, timeoutMs = 30_000) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });

describe('api replica start-up and drain', { timeout: 180_000 }, () => {
  it('a fresh replica answers a first burst of 32 POSTs that each insert a row and publish inside the transaction', async () => {
    const { r, base } = await startApi();
    // Before the fix the broker set itself up on the first publish from the pool these 32
    // transactions had exhausted: every request timed out and the replica stayed ready.
    const statuses = await Promise.all(Array.from({ length: 32 }, (_, i) => post(`${base}/rows`, { n: i }).then((res) => res.status, (e: Error) => e.name)));
    expect(statuses).toEqual(Array(32).fill(200));
    r.child.kill('SIGTERM');
    expect((await r.exited).code).toBe(0);
  });

  it('an exhausted pool is not ready, and a query waiting on it fails with ARCH_E_POOL_TIMEOUT', async () => {
    const { r, base } = await startApi({ ARCHIPELAGO_POOL_ACQUIRE_TIMEOUT_MS: '300' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await post(`${base}/hog?ms=6000`, {})).status).toBe(200);
    const failed = await post(`${base}/rows`, { n: 1000 });
    expect(failed.status).toBe(500);
    await until('not ready', async () => (await fetch(`${base}/readyz`)).status === 503, 20_000);
    await until('ready again', async () => (await fetch(`${base}/readyz`)).status === 200, 30_000);
    expect(r.logs.some((l) => JSON.stringify(l).includes('ARCH_E_POOL_TIMEOUT'))).toBe(true);
    r.child.kill('SIGTERM');
    await r.exited;
  });

  it('a handler still stuck after its client gave up makes the drain exit 1 with ARCH_E_DRAIN_TIMEOUT naming it', async () => {
    const { r, base } = await startApi();
    await post(`${base}/hang`, {}, 500).catch(() => undefined);
    r.child.kill('SIGTERM');
    // Before the fix the aborted request no longer counted: "drained failed=false", exit 0.
    expect((await r.exited).code).toBe(1);
    const cut = r.logs.filter((l) => l.code === 'ARCH_E_DRAIN_TIMEOUT');
    expect(cut).toHaveLength(1);
    expect(cut[0]!.msg).toContain('1 in-flight request');
  });
});
