// GET /feed throughput and p99: the app-api `api` unit under `archipelago up --only api` beside a
// bare Fastify route running the same queries, both separate processes on the same seeded
// database, loaded in turn by autocannon (its own process) in the same run. A second supervisor
// runs the same unit with tracing on (`--traces`: every request sampled, spans exported to the
// supervisor's own receiver), loaded in the same rounds: tracing's cost is the ratio of the two.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { higher, lower, type Figure, type Scenario, type Size } from '../types.js';
import { appConfig, autocannon, endGroup, seedApp, spawnGroup, startSupervisor, tokens, waitHttp, workspace, r2, type LoadResult } from '../lib/harness.js';
import { freePort } from '../../../packages/archipelago/src/database/index.js';

const PLAN = {
  small: { users: 300, seconds: 3, rounds: 1, connections: 10 },
  full: { users: 20_000, seconds: 15, rounds: 2, connections: 20 },
} as const;

const bareEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), '../lib/bare-feed.ts');

function merge(rs: LoadResult[]): { rps: number; p99: number; p50: number; bad: number; requests: number } {
  return {
    rps: rs.reduce((s, r) => s + r.rps, 0) / rs.length,
    p50: rs.reduce((s, r) => s + r.p50, 0) / rs.length,
    p99: rs.reduce((s, r) => s + r.p99, 0) / rs.length,
    bad: rs.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0),
    requests: rs.reduce((s, r) => s + r.requests, 0),
  };
}

async function run(size: Size): Promise<Figure[]> {
  const plan = PLAN[size];
  const ws = await workspace('api');
  try {
    const url = await ws.db.ensureDatabase('app');
    await seedApp(url, plan.users);
    const [me] = await tokens(url, 1);
    const headers = { authorization: `Bearer ${me!.token}` };
    const cfg = await appConfig(ws.dir);
    const sup = startSupervisor(cfg, url, ws.stack, ['--only', 'api']);
    const oursUrl = `http://127.0.0.1:${cfg.ports.api}/feed?limit=20`;
    // Its own folder (control socket) and port; 100 % sampling whatever the environment says.
    mkdirSync(path.join(ws.dir, 'traced'));
    const tracedCfg = await appConfig(path.join(ws.dir, 'traced'));
    const traced = startSupervisor(tracedCfg, url, ws.stack, ['--only', 'api', '--traces'], { OTEL_TRACES_SAMPLER: 'always_on' });
    const tracedUrl = `http://127.0.0.1:${tracedCfg.ports.api}/feed?limit=20`;
    const barePort = await freePort();
    const bare = spawnGroup(process.execPath, ['--import', 'tsx', bareEntry], { env: { DATABASE_URL: url, PORT: String(barePort) } });
    ws.stack.push(() => endGroup(bare));
    const bareUrl = `http://127.0.0.1:${barePort}/feed?limit=20`;
    await waitHttp(oursUrl.replace('?limit=20', ''), 401, 120_000, sup);
    await waitHttp(bareUrl, 401, 60_000, bare);
    await waitHttp(tracedUrl.replace('?limit=20', ''), 401, 120_000, traced);
    // The traced replica must really export (and the other must not), or the ratio means nothing.
    if (!traced.output().includes('tracing on') || sup.output().includes('tracing on')) throw new Error('api: tracing was not on in the traced supervisor only');
    // Warm all three (JIT, pool, plan cache), then alternate so drift in machine load hits each alike.
    await autocannon(oursUrl, { seconds: 1, connections: plan.connections, headers });
    await autocannon(bareUrl, { seconds: 1, connections: plan.connections, headers });
    await autocannon(tracedUrl, { seconds: 1, connections: plan.connections, headers });
    const ours: LoadResult[] = [], base: LoadResult[] = [], tracing: LoadResult[] = [];
    for (let i = 0; i < plan.rounds; i++) {
      base.push(await autocannon(bareUrl, { seconds: plan.seconds, connections: plan.connections, headers }));
      ours.push(await autocannon(oursUrl, { seconds: plan.seconds, connections: plan.connections, headers }));
      tracing.push(await autocannon(tracedUrl, { seconds: plan.seconds, connections: plan.connections, headers }));
    }
    const o = merge(ours), b = merge(base), t = merge(tracing);
    if (o.requests === 0 || b.requests === 0 || t.requests === 0) throw new Error(`api: no requests completed (ours ${o.requests}, bare ${b.requests}, traced ${t.requests})`);
    if (o.bad || b.bad || t.bad) throw new Error(`api: failed responses (ours ${o.bad} of ${o.requests}, bare ${b.bad} of ${b.requests}, traced ${t.bad} of ${t.requests})`);
    return [
      { name: 'GET /feed throughput, tracing on (100 % sampled, local collection) vs off', unit: 'req/s', ours: r2(t.rps), baseline: r2(o.rps), ratio: r2(higher(t.rps, o.rps)) },
      { name: 'GET /feed p99, tracing on vs off', unit: 'ms', ours: r2(t.p99), baseline: r2(o.p99), ratio: r2(lower(t.p99, o.p99)) },
      { name: 'GET /feed throughput vs bare Fastify + same SQL', unit: 'req/s', ours: r2(o.rps), baseline: r2(b.rps), ratio: r2(higher(o.rps, b.rps)) },
      { name: 'GET /feed p50 vs bare Fastify + same SQL', unit: 'ms', ours: r2(o.p50), baseline: r2(b.p50), ratio: r2(lower(o.p50, b.p50)) },
      { name: 'GET /feed p99 vs bare Fastify + same SQL', unit: 'ms', ours: r2(o.p99), baseline: r2(b.p99), ratio: r2(lower(o.p99, b.p99)) },
    ];
  } finally {
    await ws.stack.close();
  }
}

const scenario: Scenario = { name: 'api', run };
export default scenario;
