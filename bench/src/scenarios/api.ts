// GET /feed throughput and p99: the app-api `api` unit under `archipelago up --only api` beside a
// bare Fastify route running the same queries, both separate processes on the same seeded
// database, loaded in turn by autocannon (its own process) in the same run.
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
    const barePort = await freePort();
    const bare = spawnGroup(process.execPath, ['--import', 'tsx', bareEntry], { env: { DATABASE_URL: url, PORT: String(barePort) } });
    ws.stack.push(() => endGroup(bare));
    const bareUrl = `http://127.0.0.1:${barePort}/feed?limit=20`;
    await waitHttp(oursUrl.replace('?limit=20', ''), 401, 120_000, sup);
    await waitHttp(bareUrl, 401, 60_000, bare);
    // Warm both (JIT, pool, plan cache), then alternate so drift in machine load hits both alike.
    await autocannon(oursUrl, { seconds: 1, connections: plan.connections, headers });
    await autocannon(bareUrl, { seconds: 1, connections: plan.connections, headers });
    const ours: LoadResult[] = [], base: LoadResult[] = [];
    for (let i = 0; i < plan.rounds; i++) {
      base.push(await autocannon(bareUrl, { seconds: plan.seconds, connections: plan.connections, headers }));
      ours.push(await autocannon(oursUrl, { seconds: plan.seconds, connections: plan.connections, headers }));
    }
    const o = merge(ours), b = merge(base);
    if (o.requests === 0 || b.requests === 0) throw new Error(`api: no requests completed (ours ${o.requests}, bare ${b.requests})`);
    if (o.bad || b.bad) throw new Error(`api: failed responses (ours ${o.bad} of ${o.requests}, bare ${b.bad} of ${b.requests})`);
    return [
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
