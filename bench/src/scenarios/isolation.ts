// GET /feed latency at a fixed request rate, idle and while the weekly digest runs for every
// seeded user, in archipelago mode (the digest unit in its own processes at background priority)
// and in --single-process mode (every unit in one process), same run, same data (a database
// cloned from one seed per mode). The figure is p99 during ÷ p99 idle; single-process is the baseline.
import pg from 'pg';
import { lower, type Figure, type Scenario, type Size } from '../types.js';
import { appConfig, autocannon, checkpoint, cloneDatabase, endGroup, fireCron, seedApp, sleep, startSupervisor, status, tokens, waitHttp, workspace, r2, type LoadResult, type Workspace } from '../lib/harness.js';

const PLAN = {
  small: { users: 300, rate: 20, seconds: 3 },
  // 100 req/s for 12 s: 1,200 samples, so p99 is the 12th slowest, not one unlucky request. The
  // digest of 280,000 opted-in users now takes about 17 s with the API loaded, so a longer window
  // would end after the digest and measure an idle API (checked below).
  full: { users: 350_000, rate: 100, seconds: 12 },
} as const;

/** Crons that would fire on their own during a run are moved to a date that never comes round here. */
export const NEVER = '0 0 29 2 1';
export const DIGEST_OVERRIDES = {
  'weekly-digest': { env: { DIGEST_ANY_TIME: '1' }, schedule: NEVER },
  trending: { schedule: NEVER },
  cleanup: { schedule: NEVER },
};

interface ModeResult { idle: LoadResult; during: LoadResult; sentDuring: number; sentTotal: number; expected: number }

async function measure(ws: Workspace, url: string, plan: (typeof PLAN)[Size], args: string[]): Promise<ModeResult> {
  const cfg = await appConfig(ws.dir, DIGEST_OVERRIDES);
  await checkpoint(ws);
  const sup = startSupervisor(cfg, url, ws.stack, ['--only', 'api,digest,weekly-digest', ...args]);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  try {
    const [me] = await tokens(url, 1);
    const headers = { authorization: `Bearer ${me!.token}` };
    const feed = `http://127.0.0.1:${cfg.ports.api}/feed?limit=20`;
    await waitHttp(`http://127.0.0.1:${cfg.ports.api}/feed`, 401, 120_000, sup);
    const expected = Number((await pool.query('SELECT count(*) FROM users WHERE digest_opt_in')).rows[0].count);
    await autocannon(feed, { seconds: 2, connections: 4, rate: plan.rate, headers });
    const idle = await autocannon(feed, { seconds: plan.seconds, connections: 8, rate: plan.rate, headers });
    const fired = await fireCron(cfg.root, 'weekly-digest');
    if (!fired.started) throw new Error(`isolation: weekly-digest did not start: ${fired.reason}`);
    // The window opens with the first send: the cron's own start and queueing come before it.
    for (let i = 0; i < 600 && Number((await pool.query('SELECT count(*) FROM digest_sends')).rows[0].count) === 0; i++) await sleep(200);
    const during = await autocannon(feed, { seconds: plan.seconds, connections: 8, rate: plan.rate, headers });
    const sentDuring = Number((await pool.query('SELECT count(*) FROM digest_sends')).rows[0].count);
    // The whole window must be during the digest, or its tail measured an idle API.
    if (plan.users >= 10_000 && sentDuring >= expected) throw new Error(`isolation: the digest (${expected} users) ended within the ${plan.seconds} s window; the figure would not be "during"`);
    // Small runs finish the digest (a correctness check); full ones only need it running throughout.
    let sentTotal = sentDuring;
    if (plan.users < 10_000) {
      for (let i = 0; i < 240 && sentTotal < expected; i++) {
        await sleep(500);
        sentTotal = Number((await pool.query('SELECT count(*) FROM digest_sends')).rows[0].count);
      }
      if (sentTotal !== expected) throw new Error(`isolation: ${sentTotal} of ${expected} digests recorded (${args.join(' ') || 'archipelago'})`);
    }
    const s = await status(cfg.root).catch(() => undefined);
    const digest = s?.units.find((u) => u.name === 'digest');
    console.log(`  ${args.includes('--single-process') ? 'single-process' : 'archipelago'}: idle p50 ${idle.p50} p99 ${idle.p99} ms; during p50 ${during.p50} p99 ${during.p99} ms; ${sentDuring} of ${expected} digests recorded by the end of the window; digest replicas ${digest?.replicas.desired ?? '?'}`);
    for (const r of [idle, during]) if (r.non2xx || r.errors) throw new Error(`isolation: failed responses (${r.non2xx} non-2xx, ${r.errors} errors)`);
    return { idle, during, sentDuring, sentTotal, expected };
  } finally {
    await pool.end();
    await endGroup(sup);
  }
}

async function run(size: Size): Promise<Figure[]> {
  const plan = PLAN[size];
  const ws = await workspace('isolation');
  try {
    await seedApp(await ws.db.ensureDatabase('seeded'), plan.users);
    const archUrl = await cloneDatabase(ws.db, 'seeded', 'arch');
    const singleUrl = await cloneDatabase(ws.db, 'seeded', 'single');
    const arch = await measure(ws, archUrl, plan, []);
    const single = await measure(ws, singleUrl, plan, ['--single-process']);
    const ratio = (m: ModeResult, q: 'p50' | 'p99') => m.during[q] / Math.max(m.idle[q], 1);
    const fig = (name: string, unit: string, o: number, b: number): Figure => ({ name, unit, ours: r2(o), baseline: r2(b), ratio: r2(lower(o, b)) });
    return [
      fig(`GET /feed p99 during ÷ idle at ${plan.rate} req/s, digest of ${plan.users} users (archipelago vs single-process)`, '×', ratio(arch, 'p99'), ratio(single, 'p99')),
      fig(`GET /feed p50 during ÷ idle at ${plan.rate} req/s (archipelago vs single-process)`, '×', ratio(arch, 'p50'), ratio(single, 'p50')),
      fig('GET /feed p99 idle (archipelago vs single-process)', 'ms', arch.idle.p99, single.idle.p99),
      fig('GET /feed p99 during the digest (archipelago vs single-process)', 'ms', arch.during.p99, single.during.p99),
      fig('digests recorded during the measuring window (archipelago vs single-process)', 'emails', arch.sentDuring, single.sentDuring),
    ];
  } finally {
    await ws.stack.close();
  }
}

const scenario: Scenario = { name: 'isolation', run };
export default scenario;
