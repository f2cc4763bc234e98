// Digest throughput: users seeded so that a fixed number are opted in, `weekly-digest` fired on
// the running supervisor (archipelago mode, the digest unit autoscaled on its backlog) → the last
// send recorded in digest_sends. Asserts every opted-in user got exactly one digest (rows and
// mbox entries). Baseline: the bare select-render-and-write loop, no claims and no queue, in one
// process per core over disjoint slices of the same users. Repeated (fresh clones of one seed),
// median and spread reported; CPU per email from /proc for Node and for PostgreSQL.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { higher, lower, medianFigures, type Figure, type Scenario, type Size } from '../types.js';
import { appConfig, checkpoint, cloneDatabase, endGroup, fireCron, repoRoot, runsFor, seedApp, settle, sleep, startSupervisor, status, workspace, r2, type Workspace } from '../lib/harness.js';
import { postmasterPid, treeBreakdown, treeCpuUs } from '../lib/proc.js';
import { DIGEST_OVERRIDES } from './isolation.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Users seeded, and how many of them are opted in (the first by id): the full run sends 350,000. */
const PLAN = {
  small: { users: 300, optedIn: 240, timeoutMs: 120_000 },
  full: { users: 440_000, optedIn: 350_000, timeoutMs: 900_000 },
} as const;

/** Entries and distinct recipients in the outbox's mbox files. */
async function mboxCounts(dir: string): Promise<{ entries: number; recipients: number }> {
  const to = new Set<string>();
  let entries = 0;
  if (!existsSync(dir)) return { entries, recipients: 0 };
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.mbox'))) {
    let inHeaders = false;
    for await (const line of createInterface({ input: createReadStream(path.join(dir, f)) })) {
      if (line.startsWith('From ')) { entries++; inHeaders = true; continue; }
      if (inHeaders && line === '') inHeaders = false;
      else if (inHeaders && line.startsWith('To: ')) to.add(line);
    }
  }
  return { entries, recipients: to.size };
}

/**
 * The baseline: the bare select-render-write loop in one process per core, each over a disjoint
 * slice of the users (`bare-digest.ts`), all started at once after their imports; wall time from
 * the start to the last one done.
 */
async function bareLoops(url: string, dir: string, parts: number): Promise<{ seconds: number; first: number; mails: number; cpuUs: number }> {
  const script = path.join(here, '../lib/bare-digest.ts');
  const kids = Array.from({ length: parts }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, url, String(i), String(parts), path.join(dir, `bare-${i}.mbox`)], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const next = () => new Promise<string>((r, j) => { lines.once('line', r); child.once('exit', (c) => j(new Error(`bare digest loop ${i} exited ${c}`))); });
    return { child, next };
  });
  try {
    await Promise.all(kids.map(async (k) => { if ((await k.next()) !== 'ready') throw new Error('bare digest loop: no ready line'); }));
    const t0 = performance.now();
    const done = kids.map((k) => k.next().then((l) => JSON.parse(l) as { seconds: number; first: number; mails: number; cpuUs: number }));
    for (const k of kids) k.child.stdin!.write('go\n');
    const results = await Promise.all(done);
    return { seconds: (performance.now() - t0) / 1000, first: Math.min(...results.map((r) => r.first)), mails: results.reduce((a, r) => a + r.mails, 0), cpuUs: results.reduce((a, r) => a + r.cpuUs, 0) };
  } finally {
    for (const k of kids) k.child.kill('SIGKILL');
  }
}

/** Opts in exactly the first `n` users by id (the seed opts in about 80 % at random). */
async function optIn(url: string, n: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`UPDATE users SET digest_opt_in = (id <= (SELECT max(id) FROM (SELECT id FROM users ORDER BY id LIMIT $1) f))`, [n]);
    await c.query('VACUUM ANALYZE users');
  } finally {
    await c.end();
  }
}

interface Run { figures: Figure[]; load: number }

async function once(ws: Workspace, size: Size, k: number): Promise<Run> {
  const plan = PLAN[size];
  const url = await cloneDatabase(ws.db, 'seeded', `ours_${k}`);
  const bareUrl = await cloneDatabase(ws.db, 'seeded', `bare_${k}`);
  // The seed's and the clones' writes are flushed before timing, so no run pays for a checkpoint
  // of the setup's WAL (the first of three runs was up to 40 % slower without this).
  await checkpoint(ws);
  const dir = path.join(ws.dir, `run-${k}`);
  mkdirSync(dir);
  // BENCH_DIGEST_MAX=<n>: try another replicas.max for the digest unit (the service's is 4).
  const max = process.env.BENCH_DIGEST_MAX;
  const cfg = await appConfig(dir, max ? { ...DIGEST_OVERRIDES, digest: { replicas: { min: 0, max: Number(max) } } } : DIGEST_OVERRIDES);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  const pgPid = postmasterPid(path.join(ws.dir, 'data'));
  try {
    const expected = Number((await pool.query('SELECT count(*) FROM users WHERE digest_opt_in')).rows[0].count);
    const sup = startSupervisor(cfg, url, ws.stack, ['--only', 'digest,weekly-digest']);
    for (let i = 0; ; i++) {
      if (await status(cfg.root).then(() => true, () => false)) break;
      if (i > 600) throw new Error('digest: the supervisor did not come up');
      await sleep(200);
    }
    // Full runs wait for a quiet machine; CI's small run only records the load.
    const load = size === 'full' ? await settle() : os.loadavg()[0]!;
    const cpu0 = { node: treeCpuUs(sup.pid!), pg: treeCpuUs(pgPid) };
    const before = new Map(treeBreakdown(sup.pid!).map((p) => [p.pid, p.us]));
    const t0 = Date.now();
    const fired = await fireCron(cfg.root, 'weekly-digest');
    if (!fired.started) throw new Error(`digest: weekly-digest did not start: ${fired.reason}`);
    // Progress from the supervisor's own backlog reading; digest_sends is counted (a scan of a
    // growing table, load the run would not otherwise have) only once the backlog is empty.
    const timeline: { s: number; replicas: number; backlog: number | null }[] = [];
    let recorded = 0;
    while (recorded < expected) {
      if (Date.now() - t0 > plan.timeoutMs) throw new Error(`digest: ${recorded} of ${expected} recorded after ${plan.timeoutMs} ms`);
      await sleep(500);
      const s = await status(cfg.root).catch(() => undefined);
      const u = s?.units.find((x) => x.name === 'digest');
      const backlog = u?.metrics.backlog ?? null;
      timeline.push({ s: Math.round((Date.now() - t0) / 100) / 10, replicas: u?.replicas.ready ?? -1, backlog });
      const cronDone = s?.units.find((x) => x.name === 'weekly-digest')?.cron?.last?.finishedAt != null;
      // The claims first (one table), the outcomes (a join) only once every user is claimed.
      if ((cronDone && backlog === 0) || timeline.length % 10 === 0) {
        const claimed = Number((await pool.query('SELECT count(*) FROM digest_sends')).rows[0].count);
        if (claimed >= expected) recorded = Number((await pool.query(`SELECT count(*) FROM digest_outcomes WHERE status IN ('sent', 'empty')`)).rows[0].count);
      }
    }
    const cpu1 = { node: treeCpuUs(sup.pid!), pg: treeCpuUs(pgPid) };
    console.log(`  Node CPU by process during the run: ${treeBreakdown(sup.pid!).map((p) => `${p.cmd} ${((p.us - (before.get(p.pid) ?? 0)) / 1e6).toFixed(1)} s`).join('; ')}`);
    const { rows: [last] } = await pool.query<{ ms: string; first: string; sent: string; empty: string; other: string; users: string }>(
      `SELECT extract(epoch FROM max(coalesce(sent_at, claimed_at))) * 1000 AS ms, extract(epoch FROM min(sent_at)) * 1000 AS first,
              count(*) FILTER (WHERE status = 'sent') AS sent,
              count(*) FILTER (WHERE status = 'empty') AS empty, count(*) FILTER (WHERE status NOT IN ('sent', 'empty')) AS other,
              count(DISTINCT user_id) AS users FROM digest_outcomes`);
    const seconds = (Number(last!.ms) - t0) / 1000;
    const firstSend = (Number(last!.first) - t0) / 1000;
    const sent = Number(last!.sent);
    const box = await mboxCounts(path.join(cfg.root, '.archipelago/outbox'));
    const s = await status(cfg.root).catch(() => undefined);
    await endGroup(sup);
    const decisions = (s?.history ?? []).filter((d) => (d as { unit?: string }).unit === 'digest');
    const nodeUs = (cpu1.node - cpu0.node) / Math.max(1, sent), pgUs = (cpu1.pg - cpu0.pg) / Math.max(1, sent);
    console.log(`  digest run ${k + 1} (load ${load.toFixed(2)} before): ${expected} due, ${sent} sent, ${last!.empty} empty, ${last!.other} other; mbox ${box.entries} entries to ${box.recipients} recipients; ${seconds.toFixed(1)} s, first send after ${firstSend.toFixed(2)} s; CPU per email: Node ${nodeUs.toFixed(0)} µs, PostgreSQL ${pgUs.toFixed(0)} µs`);
    console.log(`  replicas over time (s: ready replicas / backlog): ${timeline.map((t) => `${t.s}:${t.replicas}/${t.backlog}`).join(' ')}`);
    console.log(`  autoscaler decisions for digest: ${JSON.stringify(decisions.slice(-20))}`);
    const missing = expected - Number(last!.users) + Number(last!.other);
    const duplicates = box.entries - box.recipients + Math.max(0, box.entries - sent);
    if (missing !== 0 || duplicates !== 0) throw new Error(`digest: ${missing} missing and ${duplicates} duplicate sends`);

    const cores = os.cpus().length;
    const pg0 = treeCpuUs(pgPid);
    const bare = await bareLoops(bareUrl, dir, cores);
    const barePgUs = (treeCpuUs(pgPid) - pg0) / Math.max(1, bare.mails);
    if (bare.mails !== sent) throw new Error(`digest: the bare loops wrote ${bare.mails} mails, the service sent ${sent}`);
    console.log(`  bare loop in ${cores} processes: ${bare.seconds.toFixed(1)} s; CPU per email: Node ${(bare.cpuUs / bare.mails).toFixed(0)} µs, PostgreSQL ${barePgUs.toFixed(0)} µs`);
    const peak = Math.max(...timeline.map((t) => t.replicas));
    const figures: Figure[] = [
      { name: `fire weekly-digest → last of ${sent} digests sent vs the bare loop in ${cores} processes (one per core)`, unit: 's', ours: r2(seconds), baseline: r2(bare.seconds), ratio: r2(lower(seconds, bare.seconds)) },
      { name: `digest throughput vs the bare loop in ${cores} processes`, unit: 'emails/s', ours: r2(sent / seconds), baseline: r2(bare.mails / bare.seconds), ratio: r2(higher(sent / seconds, bare.mails / bare.seconds)) },
      { name: 'fire weekly-digest → first digest sent vs the bare loops\' first chunk written', unit: 's', ours: r2(firstSend), baseline: r2(bare.first), ratio: r2(lower(firstSend, bare.first)) },
      { name: 'Node CPU per email, all digest replicas, cron and supervisor vs the bare loops', unit: 'µs', ours: r2(nodeUs), baseline: r2(bare.cpuUs / bare.mails), ratio: r2(lower(nodeUs, bare.cpuUs / bare.mails)) },
      { name: 'PostgreSQL CPU per email vs the bare loops', unit: 'µs', ours: r2(pgUs), baseline: r2(barePgUs), ratio: r2(lower(pgUs, barePgUs)) },
      { name: `peak digest replicas (autoscaled from 0) vs the ${cores} bare processes`, unit: 'replicas', ours: peak, baseline: cores, ratio: r2(higher(peak, cores)) },
      { name: 'missing + duplicate digests (asserted 0)', unit: 'emails', ours: missing + duplicates, baseline: 0, ratio: 1 },
    ];
    return { figures, load };
  } finally {
    await pool.end();
  }
}

async function run(size: Size): Promise<Figure[]> {
  const plan = PLAN[size];
  const ws = await workspace('digest');
  try {
    const seeded = await ws.db.ensureDatabase('seeded');
    await seedApp(seeded, plan.users);
    await optIn(seeded, plan.optedIn);
    const runs: Run[] = [];
    for (let k = 0; k < runsFor(size); k++) runs.push(await once(ws, size, k));
    return runs.length === 1 ? runs[0]!.figures : medianFigures(runs.map((r) => r.figures), runs.map((r) => r.load));
  } finally {
    await ws.stack.close();
  }
}

const scenario: Scenario = { name: 'digest', run, repeatsItself: true };
export default scenario;
