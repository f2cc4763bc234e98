// Digest throughput: N seeded users, `weekly-digest` fired on the running supervisor (archipelago
// mode, the digest unit autoscaled on its backlog) → the last send recorded in digest_sends.
// Asserts every opted-in user got exactly one digest (rows and mbox entries). Baseline: the bare
// select-render-and-write loop in one process over the same users, no claims, no queue.
import { createReadStream, createWriteStream, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { higher, lower, type Figure, type Scenario, type Size } from '../types.js';
import { appConfig, cloneDatabase, fireCron, seedApp, sleep, startSupervisor, status, workspace, r2 } from '../lib/harness.js';
import { DIGEST_OVERRIDES } from './isolation.js';

const PLAN = {
  small: { users: 300, timeoutMs: 120_000 },
  full: { users: 350_000, timeoutMs: 900_000 },
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

/** The baseline: one process selects, renders and appends every user's digest to one file. */
async function bareLoop(url: string, out: string): Promise<{ seconds: number; mails: number }> {
  const { selectDigests, renderDigest } = await import('../../../services/app-api/src/domain/digest.js');
  const { mboxEntry } = await import('../../../services/app-api/src/domain/transport.js');
  const { buildMime } = await import('../../../services/app-api/src/domain/mime.js');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const file = createWriteStream(out);
  const t0 = performance.now();
  let mails = 0;
  try {
    const ids = (await pool.query<{ id: string }>('SELECT id::text FROM users WHERE digest_opt_in ORDER BY id')).rows.map((r) => r.id);
    for (let i = 0; i < ids.length; i += 200) {
      const batch = await selectDigests(pool, ids.slice(i, i + 200), { limit: 10 });
      let chunk = '';
      for (const d of batch.values()) {
        if (!d.posts.length) continue;
        const m = renderDigest(d.user, d.posts, '2026-W01', 'http://localhost:3000');
        const raw = buildMime({ from: 'digest@app-api.localhost', to: `${d.user.username} <${d.user.email}>`, messageId: `${d.user.id}@bare`, ...m }, new Date(), '\n');
        chunk += mboxEntry(raw, 'app-api@localhost', new Date());
        mails++;
      }
      if (!file.write(chunk)) await new Promise<void>((r) => file.once('drain', () => r()));
    }
    await new Promise<void>((r, j) => file.end((e?: Error | null) => (e ? j(e) : r())));
    return { seconds: (performance.now() - t0) / 1000, mails };
  } finally {
    await pool.end();
  }
}

async function run(size: Size): Promise<Figure[]> {
  const plan = PLAN[size];
  const ws = await workspace('digest');
  try {
    await seedApp(await ws.db.ensureDatabase('seeded'), plan.users);
    const url = await cloneDatabase(ws.db, 'seeded', 'ours');
    const bareUrl = await cloneDatabase(ws.db, 'seeded', 'bare');
    const cfg = await appConfig(ws.dir, DIGEST_OVERRIDES);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {});
    ws.stack.push(() => pool.end());
    const expected = Number((await pool.query('SELECT count(*) FROM users WHERE digest_opt_in')).rows[0].count);
    startSupervisor(cfg, url, ws.stack, ['--only', 'digest,weekly-digest']);
    for (let i = 0; ; i++) {
      if (await status(cfg.root).then(() => true, () => false)) break;
      if (i > 600) throw new Error('digest: the supervisor did not come up');
      await sleep(200);
    }
    const t0 = Date.now();
    const fired = await fireCron(cfg.root, 'weekly-digest');
    if (!fired.started) throw new Error(`digest: weekly-digest did not start: ${fired.reason}`);
    const timeline: { s: number; replicas: number; recorded: number }[] = [];
    let recorded = 0;
    while (recorded < expected) {
      if (Date.now() - t0 > plan.timeoutMs) throw new Error(`digest: ${recorded} of ${expected} recorded after ${plan.timeoutMs} ms`);
      await sleep(1000);
      recorded = Number((await pool.query(`SELECT count(*) FROM digest_sends WHERE status IN ('sent', 'empty')`)).rows[0].count);
      const s = await status(cfg.root).catch(() => undefined);
      timeline.push({ s: Math.round((Date.now() - t0) / 1000), replicas: s?.units.find((u) => u.name === 'digest')?.replicas.ready ?? -1, recorded });
    }
    const { rows: [last] } = await pool.query<{ ms: string; sent: string; empty: string; other: string; users: string }>(
      `SELECT extract(epoch FROM max(coalesce(sent_at, claimed_at))) * 1000 AS ms, count(*) FILTER (WHERE status = 'sent') AS sent,
              count(*) FILTER (WHERE status = 'empty') AS empty, count(*) FILTER (WHERE status NOT IN ('sent', 'empty')) AS other,
              count(DISTINCT user_id) AS users FROM digest_sends`);
    const seconds = (Number(last!.ms) - t0) / 1000;
    const sent = Number(last!.sent);
    const box = await mboxCounts(path.join(cfg.root, '.archipelago/outbox'));
    const s = await status(cfg.root).catch(() => undefined);
    const decisions = (s?.history ?? []).filter((d) => (d as { unit?: string }).unit === 'digest');
    console.log(`  digest: ${expected} due, ${sent} sent, ${last!.empty} empty, ${last!.other} other; mbox ${box.entries} entries to ${box.recipients} recipients; ${seconds.toFixed(1)} s`);
    console.log(`  replicas over time (s: ready replicas / recorded): ${timeline.map((t) => `${t.s}:${t.replicas}/${t.recorded}`).join(' ')}`);
    console.log(`  autoscaler decisions for digest: ${JSON.stringify(decisions.slice(-20))}`);
    const missing = expected - Number(last!.users) + Number(last!.other);
    const duplicates = box.entries - box.recipients + Math.max(0, box.entries - sent);
    if (missing !== 0 || duplicates !== 0) throw new Error(`digest: ${missing} missing and ${duplicates} duplicate sends`);

    const bare = await bareLoop(bareUrl, path.join(ws.dir, 'bare.mbox'));
    if (bare.mails !== sent) throw new Error(`digest: the bare loop wrote ${bare.mails} mails, the service sent ${sent}`);
    const peak = Math.max(...timeline.map((t) => t.replicas));
    return [
      { name: `fire weekly-digest → last of ${expected} digests recorded vs bare loop in one process`, unit: 's', ours: r2(seconds), baseline: r2(bare.seconds), ratio: r2(lower(seconds, bare.seconds)) },
      { name: 'digest throughput vs bare loop in one process', unit: 'emails/s', ours: r2(sent / seconds), baseline: r2(bare.mails / bare.seconds), ratio: r2(higher(sent / seconds, bare.mails / bare.seconds)) },
      { name: 'peak digest replicas (autoscaled from 0) vs the one bare process', unit: 'replicas', ours: peak, baseline: 1, ratio: r2(higher(peak, 1)) },
      { name: 'missing + duplicate digests (asserted 0)', unit: 'emails', ours: missing + duplicates, baseline: 0, ratio: 1 },
    ];
  } finally {
    await ws.stack.close();
  }
}

const scenario: Scenario = { name: 'digest', run };
export default scenario;
