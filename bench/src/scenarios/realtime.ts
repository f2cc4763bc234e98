// Real-time fan-out: idle authenticated connections one `realtime` replica holds and its memory per
// connection, beside a bare `ws` server holding as many; then two replicas sharing the port holding
// twice that; then notification → client latency at a fixed event rate (a `live` broadcast through
// the broker vs the bare server sending the same). Clients are separate processes, each from its
// own 127.0.0.x source address; every process is ended by pid / process group.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { freePort, migrate } from '../../../packages/archipelago/src/database/index.js';
import { createMessaging, createPostgresBroker } from '../../../packages/archipelago/src/messaging/index.js';
import { live } from '../../../services/app-api/src/topics.js';
import { higher, lower, percentile, type Figure, type Scenario, type Size } from '../types.js';
import { appConfig, appRoot, endGroup, sleep, startSupervisor, status, tokens, workspace, r2, type Stack } from '../lib/harness.js';

const PLAN = {
  small: { connections: 200, perProcess: 200, events: 100, rate: 50, settleMs: 500 },
  // settleMs: the pause between opening the connections and timing sends, the same on both sides.
  full: { connections: 18_000, perProcess: 4500, events: 2000, rate: 200, settleMs: 5000 },
} as const;

const lib = path.join(path.dirname(fileURLToPath(import.meta.url)), '../lib');

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

function forkScript(file: string, stack: Stack, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = fork(path.join(lib, file), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  stack.push(() => endGroup(child, 3000));
  return child;
}

function ask<T>(child: ChildProcess, msg: unknown, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer from pid ${child.pid} in ${timeoutMs} ms`)), timeoutMs);
    child.once('message', (m) => { clearTimeout(t); resolve(m as T); });
    if (msg !== undefined) child.send(msg as object);
  });
}

/** Opens `toks.length` connections to `url` from client processes of `perProcess` each. */
async function connect(url: string, toks: string[], perProcess: number, stack: Stack, base = 0): Promise<{ clients: ChildProcess[]; opened: number; failed: number }> {
  const clients: ChildProcess[] = [];
  const jobs: Promise<{ opened: number; failed: number }>[] = [];
  for (let i = 0; i * perProcess < toks.length; i++) {
    const c = forkScript('ws-clients.ts', stack);
    clients.push(c);
    jobs.push(ask(c, { cmd: 'open', url, tokens: toks.slice(i * perProcess, (i + 1) * perProcess), localAddress: `127.0.0.${2 + base + i}` }, 600_000));
  }
  const got = await Promise.all(jobs);
  return { clients, opened: got.reduce((s, g) => s + g.opened, 0), failed: got.reduce((s, g) => s + g.failed, 0) };
}

async function latencies(clients: ChildProcess[]): Promise<{ sorted: number[]; open: number }> {
  const all = await Promise.all(clients.map((c) => ask<{ latencies: number[]; open: number }>(c, { cmd: 'report' }, 60_000)));
  return { sorted: all.flatMap((a) => a.latencies).sort((a, b) => a - b), open: all.reduce((s, a) => s + a.open, 0) };
}

async function closeAll(clients: ChildProcess[]) {
  await Promise.all(clients.map((c) => endGroup(c, 3000)));
}

/** Waits for the given total of received events, up to `ms`. */
async function collect(clients: ChildProcess[], want: number, ms: number) {
  const got: number[] = [];
  const end = Date.now() + ms;
  while (got.length < want && Date.now() < end) {
    await sleep(500);
    got.push(...(await latencies(clients)).sorted);
  }
  return got.sort((a, b) => a - b);
}

/** Waits until `n` realtime replicas report ready to the supervisor. */
async function ready(root: string, n: number, sup: { output(): string; exitCode: number | null }) {
  for (let i = 0; ; i++) {
    const s = await status(root).catch(() => undefined);
    const up = s?.units.find((u) => u.name === 'realtime')?.replicaList.filter((r) => r.state === 'ready' && r.pid).length ?? 0;
    if (up >= n) return;
    if (i > 600 || sup.exitCode !== null) throw new Error(`realtime: ${up} of ${n} replicas ready:\n${sup.output().slice(-2000)}`);
    await sleep(200);
  }
}

async function run(size: Size): Promise<Figure[]> {
  const plan = PLAN[size];
  const ws = await workspace('realtime');
  try {
    const url = await ws.db.ensureDatabase('app');
    await migrate(url, path.join(appRoot, 'migrations'));
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query(`INSERT INTO users (username, email, password_hash) SELECT 'rt' || g, 'rt' || g || '@example.com', 'x' FROM generate_series(1, $1::int) g`, [plan.connections * 2]);
    await setup.end();
    const toks = await tokens(url, plan.connections * 2);

    // 1. The bare ws server: memory per connection and send latency.
    const barePort = await freePort();
    const bare = forkScript('bare-ws.ts', ws.stack, { PORT: String(barePort) });
    await ask(bare, undefined, 60_000);
    await sleep(1000);
    const bareRss0 = rssOf(bare.pid!);
    const b = await connect(`ws://127.0.0.1:${barePort}/live`, toks.slice(0, plan.connections).map((t) => t.token), plan.perProcess, ws.stack);
    await sleep(2000);
    const bareRss1 = rssOf(bare.pid!);
    await sleep(plan.settleMs);
    await ask(bare, { cmd: 'events', rate: plan.rate, count: plan.events }, 120_000);
    const bareLat = await collect(b.clients, plan.events, 30_000);
    await closeAll(b.clients);
    await endGroup(bare, 3000);
    if (b.opened !== plan.connections || bareLat.length !== plan.events) throw new Error(`realtime: bare server held ${b.opened} of ${plan.connections}, delivered ${bareLat.length} of ${plan.events}`);

    // 2. One realtime replica (archipelago mode, scaling pinned to 1).
    let cfg = await appConfig(ws.dir, { realtime: { replicas: { min: 1, max: 1 } } });
    let sup = startSupervisor(cfg, url, ws.stack, ['--only', 'realtime']);
    const replicaPid = async () => (await status(cfg.root)).units.find((u) => u.name === 'realtime')!.replicaList.filter((r) => r.pid).map((r) => r.pid!);
    await ready(cfg.root, 1, sup);
    const [pid] = await replicaPid();
    await sleep(1000);
    const rss0 = rssOf(pid!);
    const t0 = performance.now();
    const o = await connect(`ws://127.0.0.1:${cfg.ports.realtime}/live`, toks.slice(0, plan.connections).map((t) => t.token), plan.perProcess, ws.stack);
    const connectSecs = (performance.now() - t0) / 1000;
    await sleep(2000);
    const rss1 = rssOf(pid!);
    const held = (await status(cfg.root)).units.find((u) => u.name === 'realtime')!.replicaList.reduce((s, r) => s + r.connections, 0);
    console.log(`  one replica: ${o.opened} opened (${o.failed} failed) in ${connectSecs.toFixed(1)} s; status reports ${held}; RSS ${(rss0 / 2 ** 20).toFixed(0)} → ${(rss1 / 2 ** 20).toFixed(0)} MiB; bare ${(bareRss0 / 2 ** 20).toFixed(0)} → ${(bareRss1 / 2 ** 20).toFixed(0)} MiB`);

    // Latency: `live` notifications broadcast through the service's broker at a fixed rate.
    await sleep(plan.settleMs);
    const broker = createPostgresBroker({ databaseUrl: url });
    await broker.init();
    const messaging = createMessaging(broker, { unit: 'bench', logger: pino({ level: 'warn' }) });
    const start = performance.now();
    for (let i = 0; i < plan.events; i++) {
      const wait = start + (i * 1000) / plan.rate - performance.now();
      if (wait > 0) await sleep(wait);
      const user = toks[i % plan.connections]!.userId;
      await messaging.broadcast(live, { kind: 'notification', userId: user, notification: { id: String(i), kind: 'upvote', count: 1, sentAt: performance.timeOrigin + performance.now() } });
    }
    const oursLat = await collect(o.clients, plan.events, 60_000);
    await messaging.close();
    await broker.close();
    await closeAll(o.clients);
    await endGroup(sup);
    if (o.opened !== plan.connections || oursLat.length !== plan.events) throw new Error(`realtime: one replica held ${o.opened} of ${plan.connections}, delivered ${oursLat.length} of ${plan.events}`);

    // 3. Two replicas sharing the port hold twice as many.
    cfg = await appConfig(ws.dir, { realtime: { replicas: { min: 2, max: 2 } } });
    sup = startSupervisor(cfg, url, ws.stack, ['--only', 'realtime']);
    await ready(cfg.root, 2, sup);
    const two = await connect(`ws://127.0.0.1:${cfg.ports.realtime}/live`, toks.map((t) => t.token), plan.perProcess, ws.stack, 100);
    await sleep(2000);
    const perReplica = (await status(cfg.root)).units.find((u) => u.name === 'realtime')!.replicaList.map((r) => r.connections);
    console.log(`  two replicas: ${two.opened} opened (${two.failed} failed); per replica ${perReplica.join(' + ')}`);
    await closeAll(two.clients);
    await endGroup(sup);
    if (two.opened !== plan.connections * 2) throw new Error(`realtime: two replicas held ${two.opened} of ${plan.connections * 2}`);

    const perConn = (rss1 - rss0) / o.opened / 1024;
    const barePerConn = (bareRss1 - bareRss0) / b.opened / 1024;
    const p = (xs: number[], q: number) => r2(percentile(xs, q));
    return [
      { name: 'idle authenticated connections held by one replica vs bare ws server', unit: 'connections', ours: o.opened, baseline: b.opened, ratio: r2(higher(o.opened, b.opened)) },
      { name: 'memory per connection (RSS delta ÷ connections) vs bare ws server', unit: 'KiB', ours: r2(perConn), baseline: r2(barePerConn), ratio: r2(lower(perConn, barePerConn)) },
      { name: 'connections held by two replicas sharing the port vs twice one replica', unit: 'connections', ours: two.opened, baseline: 2 * o.opened, ratio: r2(higher(two.opened, 2 * o.opened)) },
      { name: `notification → client p50 at ${plan.rate}/s (broadcast via broker) vs bare ws send`, unit: 'ms', ours: p(oursLat, 50), baseline: p(bareLat, 50), ratio: r2(lower(p(oursLat, 50), p(bareLat, 50))) },
      { name: `notification → client p99 at ${plan.rate}/s (broadcast via broker) vs bare ws send`, unit: 'ms', ours: p(oursLat, 99), baseline: p(bareLat, 99), ratio: r2(lower(p(oursLat, 99), p(bareLat, 99))) },
    ];
  } finally {
    await ws.stack.close();
  }
}

const scenario: Scenario = { name: 'realtime', run };
export default scenario;
