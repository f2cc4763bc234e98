// End to end over real processes: `archipelago up` on a test database runs every unit; two users
// sign up, A posts, B upvotes and comments, A's WebSocket sees it, B's digest holds A's post, and
// running the digest again sends nothing twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARCHIPELAGO_BIN, createDatabase, SERVICE_ROOT } from './support/context.js';
import { writeAppConfig } from './support/up.js';

const BIN = ARCHIPELAGO_BIN;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}
async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (String(e).includes('archipelago up exited')) throw e;
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\n--- supervisor output (tail) ---\n${output.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let output = '';
let sup: ChildProcess | undefined;
let dir: string;
let configPath: string;
let dbUrl: string;
let api: string;
let live: string;
const env = () => ({ ...process.env, DATABASE_URL: dbUrl, DIGEST_ANY_TIME: '1', NO_COLOR: '1', ARCHIPELAGO_SUPERVISOR: JSON.stringify({ pollingMs: 500 }) });

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args, '--config', configPath], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (d) => { out += d; });
    p.stderr!.on('data', (d) => { out += d; });
    p.on('exit', (code) => resolve({ code, out }));
  });
}

async function call(method: string, p: string, token?: string, body?: unknown): Promise<any> {
  const res = await fetch(`${api}${p}`, {
    method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

describe('app-api end to end', () => {
  beforeAll(async () => {
    dbUrl = await createDatabase('appapi_e2e', { replication: true });
    // Inside the repository (children resolve tsx from their working directory), ignored by git.
    mkdirSync(path.join(SERVICE_ROOT, '.archipelago'), { recursive: true });
    dir = mkdtempSync(path.join(SERVICE_ROOT, '.archipelago', 'e2e-'));
    const [apiPort, livePort] = [await freePort(), await freePort()];
    api = `http://127.0.0.1:${apiPort}`;
    live = `ws://127.0.0.1:${livePort}/live`;
    configPath = writeAppConfig(dir, apiPort, livePort);
    sup = spawn(process.execPath, [BIN, 'up', '--config', configPath, '--json'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    sup.stdout!.on('data', (d) => { output += d; });
    sup.stderr!.on('data', (d) => { output += d; });
    await until('the api', async () => {
      if (sup!.exitCode !== null) throw new Error(`archipelago up exited with code ${sup!.exitCode}\n${output.slice(-4000)}`);
      return (await fetch(`${api}/openapi.json`)).ok;
    }, 120_000);
    // Logical replication sees only what is written after the relay's slot exists.
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    try {
      await until('the change relay', async () => {
        const { rowCount } = await db.query(`SELECT 1 FROM pg_replication_slots WHERE database = current_database() AND active`);
        return rowCount === 1;
      }, 120_000);
    } finally {
      await db.end();
    }
  }, 180_000);

  afterAll(async () => {
    if (sup?.pid && sup.exitCode === null) {
      const exited = new Promise((r) => sup!.once('exit', r));
      process.kill(-sup.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      try { process.kill(-sup.pid, 'SIGKILL'); } catch {}
    }
    if (process.env.APPAPI_E2E_LOG) writeFileSync(process.env.APPAPI_E2E_LOG, output);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 40_000);

  it('carries an upvote and a comment to the author live, and the post into the digest once', async () => {
    const tag = `e2e${Date.now().toString(36)}`;
    const a = await call('POST', '/auth/signup', undefined, { username: `alice_${tag}`, email: `alice.${tag}@example.com`, password: 'correct horse', tags: [tag] });
    const b = await call('POST', '/auth/signup', undefined, { username: `bob_${tag}`, email: `bob.${tag}@example.com`, password: 'correct horse', tags: [tag] });
    const post = await call('POST', '/posts', a.token, { title: `Hello from ${tag}`, tags: [tag] });

    // An unauthenticated socket is refused.
    const refused = await new Promise<number | string>((resolve) => {
      const ws = new WebSocket(live);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve('opened'));
      ws.on('error', () => {});
    });
    expect(refused).toBe(401);

    const messages: any[] = [];
    const ws = new WebSocket(live, { headers: { authorization: `Bearer ${a.token}` } });
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    try {
      ws.send(JSON.stringify({ type: 'subscribe', post: post.id }));
      await until('subscribed', () => messages.some((m) => m.type === 'subscribed'));
      await call('POST', `/posts/${post.id}/upvote`, b.token);
      await call('POST', `/posts/${post.id}/comments`, b.token, { body: 'great post' });
      await until('live counters and both notifications', () =>
        messages.some((m) => m.type === 'post' && m.id === post.id && m.upvotes === 1 && m.comments === 1)
        && messages.filter((m) => m.type === 'notification').length >= 2, 60_000);
      const notes = messages.filter((m) => m.type === 'notification');
      expect(notes.map((n) => n.kind).sort()).toEqual(['comment', 'upvote']);
      expect(notes.find((n) => n.kind === 'upvote').message).toBe(`bob_${tag} upvoted your post`);
    } finally {
      ws.close();
    }
    const stored = await call('GET', `/posts/${post.id}`);
    expect(stored).toMatchObject({ upvotes: 1, comments: 1 });
    expect((await call('GET', '/me', a.token)).reputation).toBe(13);

    // `status` shows which cdc replica relays the changes that carried all of the above, and its lag.
    const relay = await until('an active relay in status', async () => {
      const r = await cli(['status', '--json']);
      const changes = (JSON.parse(r.out) as { units: { name: string; replicaList: { cdc?: { state: string; lagBytes: number | null; changesRelayed: number } }[] }[] })
        .units.find((u) => u.name === 'changes');
      return changes?.replicaList.map((x) => x.cdc).find((c) => c?.state === 'active' && c.changesRelayed > 0);
    }, 60_000);
    expect(relay.lagBytes).toEqual(expect.any(Number));
    expect((await cli(['status'])).out).toMatch(/changes-\d+:ready\(pid \d+.*active, lag [\d.]+ (B|KiB|MiB) \/ [\d.]+ s, \d+ changes\)/);

    // The digest: the cron queues everyone (DIGEST_ANY_TIME=1), the digest unit scales up from 0.
    const outbox = path.join(dir, '.archipelago', 'outbox');
    const mailsTo = (email: string) => (existsSync(outbox) ? readdirSync(outbox) : [])
      .flatMap((f) => readFileSync(path.join(outbox, f), 'utf8').split(/^From app-api@localhost /m))
      .filter((m) => m.includes(`<${email}>`));
    expect((await cli(['cron', 'run', 'weekly-digest'])).code).toBe(0);
    const [toB] = await until('bob\'s digest', () => mailsTo(b.user.email).length > 0 && mailsTo(b.user.email), 120_000);
    expect((await simpleParser(toB!)).text).toContain(`Hello from ${tag}`);

    // Run the digest again with everyone re-queued: each user is skipped, nobody gets a second mail.
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    try {
      // Let the first run finish: every queued user has a send row (sent, or empty).
      const before = await until('the first run', async () => {
        const { rows } = await db.query(`SELECT (SELECT count(*)::int FROM digest_sends) AS sends, (SELECT count(*)::int FROM users u JOIN digest_zone_runs z USING (time_zone) WHERE u.digest_opt_in) AS queued`);
        return rows[0].queued > 0 && rows[0].sends === rows[0].queued && rows[0].sends;
      }, 120_000);
      await db.query('DELETE FROM digest_zone_runs');
      const logged = output.length;
      expect((await cli(['cron', 'run', 'weekly-digest'])).code).toBe(0);
      await until('the re-run batches', () => {
        const done = output.slice(logged).split('\n').filter((l) => l.includes('digest batch done')).map((l) => JSON.parse(l.slice(l.indexOf('{'))));
        return done.reduce((s, l) => s + l.users, 0) >= before && done;
      }, 120_000);
      expect((await db.query(`SELECT count(*)::int AS n FROM digest_sends`)).rows[0].n).toBe(before);
    } finally {
      await db.end();
    }
    expect(mailsTo(b.user.email)).toHaveLength(1);
    // Alice's only post in her tag is her own: her digest is empty, so she gets no mail.
    expect(mailsTo(a.user.email)).toHaveLength(0);
  }, 300_000);
});
