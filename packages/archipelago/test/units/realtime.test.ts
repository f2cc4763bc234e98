// The realtime host run as a real `archipelago run realtime` child, driven by real WebSocket clients.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../../src/database/index.js';
import { createTestDatabase } from '../support/db.js';
import { killAll, startReplica, type ReplicaProcess } from '../support/replica-process.js';

const CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hosts/archipelago.config.ts');
let databaseUrl: string;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  databaseUrl = await createTestDatabase('hosts_rt');
});
afterAll(() => {
  for (const s of sockets) s.terminate();
  killAll();
});

async function startRealtime(env: NodeJS.ProcessEnv = {}): Promise<{ r: ReplicaProcess; http: string; ws: string; admin: string }> {
  const port = await freePort();
  const r = startReplica(['run', 'realtime', '--config', CONFIG], {
    env: { DATABASE_URL: databaseUrl, FIXTURE_RT_PORT: String(port), ARCHIPELAGO_ADMIN_PORT: '0', ...env },
  });
  const { adminPort } = await r.message('arch:listening');
  await r.message('arch:ready');
  return { r, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/live`, admin: `http://127.0.0.1:${adminPort}` };
}

/** A client that records every JSON message and how it closed. */
function client(url: string, opts: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, opts);
  sockets.push(ws);
  const received: any[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (d) => { received.push(JSON.parse(d.toString())); for (const w of waiters) w(); });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const next = (pred: (m: any) => boolean, timeoutMs = 30_000) => new Promise<any>((resolve, reject) => {
    const check = () => { const m = received.find(pred); if (m) { done(); resolve(m); } };
    const timer = setTimeout(() => { done(); reject(new Error(`no matching message; got ${JSON.stringify(received.map((m) => m.type))}`)); }, timeoutMs);
    const done = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });
  return { ws, received, closed, opened, next, send: (m: unknown) => ws.send(JSON.stringify(m)) };
}

describe('realtime host', { timeout: 120_000 }, () => {
  let rt: Awaited<ReturnType<typeof startRealtime>>;
  beforeAll(async () => {
    rt = await startRealtime();
  }, 120_000);

  it('rejects an unauthenticated upgrade with 401 and no connection', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${rt.ws}?token=bad`);
      sockets.push(ws);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('an unauthenticated client was let in')));
      ws.on('error', () => {});
    });
    expect(status).toBe(401);
  });

  it('lets an authenticated client join a channel and receive a broadcast published through the broker', async () => {
    const c = client(`${rt.ws}?token=good`);
    expect(await c.next((m) => m.type === 'welcome')).toEqual({ type: 'welcome', user: 'alice' });
    c.send({ type: 'join', channel: 'posts' });
    await c.next((m) => m.type === 'joined');
    const other = client(`${rt.ws}?token=good`);
    await other.next((m) => m.type === 'welcome');
    const res = await fetch(`${rt.http}/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'posts', text: 'new post' }) });
    expect(res.status).toBe(200);
    expect(await c.next((m) => m.type === 'notice')).toEqual({ type: 'notice', text: 'new post' });
    // Only members of the channel get it.
    expect(other.received.some((m) => m.type === 'notice')).toBe(false);
    c.ws.close();
    other.ws.close();
  });

  it('enforces the channel limit and the message size limit', async () => {
    const c = client(`${rt.ws}?token=good`);
    await c.next((m) => m.type === 'welcome');
    for (const ch of ['a', 'b', 'c']) c.send({ type: 'join', channel: ch });
    expect(await c.next((m) => m.channel === 'c')).toEqual({ type: 'join-refused', channel: 'c' });
    c.send({ type: 'echo', pad: 'y'.repeat(2000) });
    expect((await c.closed).code).toBe(1009);
  });

  it('terminates a slow client whose buffer exceeds the limit, and keeps a healthy one', async () => {
    const slow = client(`${rt.ws}?token=good`);
    await slow.next((m) => m.type === 'welcome');
    slow.send({ type: 'join', channel: 'firehose' });
    await slow.next((m) => m.type === 'joined');
    slow.ws.pause();
    const flooder = client(`${rt.ws}?token=good`);
    await flooder.next((m) => m.type === 'welcome');
    flooder.send({ type: 'flood', channel: 'firehose', n: 300 });
    const flooded = await flooder.next((m) => m.type === 'flooded');
    expect(flooded.delivered).toBeLessThan(300);
    slow.ws.resume();
    expect((await slow.closed).code).toBe(1006);
    flooder.send({ type: 'echo', still: 'here' });
    expect(await flooder.next((m) => m.type === 'echo')).toMatchObject({ data: { still: 'here' } });
    await rt.r.log((l) => l.msg === 'dropped a slow client');
    flooder.ws.close();
  });

  it('drops a peer that stops answering pings', async () => {
    // Its own replica: a heartbeat this short could drop a healthy client of a busy test machine.
    const hb = await startRealtime({ FIXTURE_HEARTBEAT_MS: '300' });
    const dead = client(`${hb.ws}?token=good`, { autoPong: false });
    await dead.next((m) => m.type === 'welcome');
    expect((await dead.closed).code).toBe(1006);
    await hb.r.log((l) => l.msg === 'dropped a dead peer');
    hb.r.kill();
  });

  it('sweeps a large hub in slices and still finds a dead peer behind the first ones', async () => {
    const hb = await startRealtime({ FIXTURE_HEARTBEAT_MS: '1500' });
    // 1,200 healthy peers first, so the dead one is in the third slice of the sweep.
    const healthy = Array.from({ length: 1200 }, () => client(`${hb.ws}?token=good`));
    await Promise.all(healthy.map((c) => c.next((m) => m.type === 'welcome')));
    const dead = client(`${hb.ws}?token=good`, { autoPong: false });
    await dead.next((m) => m.type === 'welcome');
    expect((await dead.closed).code).toBe(1006);
    await hb.r.log((l) => l.msg === 'dropped a dead peer');
    const first = healthy[0]!;
    first.send({ type: 'echo', still: 'here' });
    expect(await first.next((m) => m.type === 'echo')).toMatchObject({ data: { still: 'here' } });
    for (const c of healthy) c.ws.terminate();
    hb.r.kill();
  });

  it('drains by telling each client to reconnect later and closing with 1012, then exits 0', async () => {
    const c = client(`${rt.ws}?token=good`);
    await c.next((m) => m.type === 'welcome');
    rt.r.child.kill('SIGTERM');
    const hint = await c.next((m) => m.type === 'reconnect');
    expect(hint.afterMs).toBeGreaterThanOrEqual(0);
    expect(hint.afterMs).toBeLessThanOrEqual(5000);
    expect((await c.closed).code).toBe(1012);
    expect((await rt.r.exited).code).toBe(0);
  });
});
