import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricHistory } from '../../src/console/metric-history.js';
import { startConsole, TOKEN_HEADER, type ConsoleHandle } from '../../src/console/server.js';
import { FixtureSource } from './fixture-source.js';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function call(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** Reads server-sent events until `count` of them have arrived. */
function readEvents(port: number, token: string, count: number): Promise<{ event: string; data: any }[]> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: any }[] = [];
    const req = request({ host: '127.0.0.1', port, path: `/api/stream?token=${token}` }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
          if (events.length >= count) { req.destroy(); resolve(events); return; }
        }
      });
    });
    req.on('error', (e) => { if (events.length < count) reject(e); });
    req.end();
  });
}

describe('console server', () => {
  const source = new FixtureSource();
  let c: ConsoleHandle;
  const lines: string[] = [];
  beforeAll(async () => { c = await startConsole({ source, port: 0, print: (l) => lines.push(l) }); });
  afterAll(async () => { await c?.close(); });

  it('prints a URL that carries a random per-run token', async () => {
    expect(lines).toEqual([`console: http://127.0.0.1:${c.port}/?token=${c.token}`]);
    expect(c.token.length).toBeGreaterThanOrEqual(32);
    const other = await startConsole({ source, port: 0, print: null });
    try { expect(other.token).not.toBe(c.token); } finally { await other.close(); }
  });

  it('serves the built page with headers that forbid framing, referrers and foreign loads', async () => {
    const r = await call(c.port, 'GET', '/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<script type="module" src="/app.js">');
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect((await call(c.port, 'GET', '/app.js')).body.length).toBeGreaterThan(1000);
  });

  it('refuses an action without the token header with 401 JSON and does not act', async () => {
    const r = await call(c.port, 'POST', '/api/crons/nightly/run', {}, {});
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error.code).toBe('ARCH_E_CONSOLE_TOKEN');
    const q = await call(c.port, 'POST', `/api/crons/nightly/run?token=${c.token}`, {}, {});
    expect(q.status).toBe(401);
    const w = await call(c.port, 'POST', '/api/crons/nightly/run', { [TOKEN_HEADER]: 'x'.repeat(c.token.length) }, {});
    expect(w.status).toBe(403);
    expect(source.actions).toEqual([]);
  });

  it('refuses an action from another origin even with the token', async () => {
    const r = await call(c.port, 'POST', '/api/crons/nightly/run', { [TOKEN_HEADER]: c.token, origin: 'http://evil.example' }, {});
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error.code).toBe('ARCH_E_CONSOLE_ORIGIN');
    const s = await call(c.port, 'POST', '/api/crons/nightly/run', { [TOKEN_HEADER]: c.token, 'sec-fetch-site': 'cross-site' }, {});
    expect(s.status).toBe(403);
    expect(source.actions).toEqual([]);
  });

  it('refuses requests naming another host (DNS rebinding)', async () => {
    const r = await call(c.port, 'GET', `/api/state?token=${c.token}`, { host: `attacker.example:${c.port}` });
    expect(r.status).toBe(403);
  });

  it('runs an action with the token from the same origin', async () => {
    const r = await call(c.port, 'POST', '/api/crons/nightly/run', { [TOKEN_HEADER]: c.token, origin: `http://127.0.0.1:${c.port}` }, {});
    expect(r.status).toBe(202);
    expect(source.actions).toEqual(['cron nightly']);
  });

  it('reports a supervisor refusal with its code and a 4xx status', async () => {
    const r = await call(c.port, 'POST', '/api/units/mailer/scale', { [TOKEN_HEADER]: c.token }, { replicas: 9 });
    expect(r.status).toBe(422);
    expect(JSON.parse(r.body).error.code).toBe('ARCH_E_SCALE_RANGE');
    const u = await call(c.port, 'GET', `/api/dlq/nope?token=${c.token}`);
    expect(u.status).toBe(404);
  });

  it('lists, shows and replays dead letters', async () => {
    const list = await call(c.port, 'GET', '/api/dlq/mailer-send', { [TOKEN_HEADER]: c.token });
    expect(JSON.parse(list.body).map((d: { id: string }) => d.id)).toEqual(['msg-1']);
    const one = await call(c.port, 'GET', '/api/dlq/mailer-send/msg-1', { [TOKEN_HEADER]: c.token });
    expect(JSON.parse(one.body)).toMatchObject({ error: 'SMTP 550 mailbox unavailable', attempts: 5, payload: { to: 'ada@example.com' } });
    const r = await call(c.port, 'POST', '/api/dlq/mailer-send/replay', { [TOKEN_HEADER]: c.token }, { ids: ['msg-1'] });
    expect(JSON.parse(r.body)).toEqual({ count: 1 });
    expect(source.deadLetterList).toEqual([]);
  });

  it('streams the state, then samples, logs and decisions as they happen', async () => {
    const pending = readEvents(c.port, c.token, 6);
    setTimeout(() => source.burst(25), 50);
    const events = await pending;
    const state = events.find((e) => e.event === 'state')!.data;
    expect(state.snapshot.units.map((u: { name: string }) => u.name)).toEqual(['web', 'mailer', 'nightly', 'backfill']);
    const rest = new Set(events.map((e) => e.event));
    expect(rest.has('decision') || rest.has('sample')).toBe(true);
    const s = await call(c.port, 'GET', `/api/state?token=${c.token}`);
    const body = JSON.parse(s.body);
    expect(body.decisions.at(-1)).toMatchObject({ unit: 'mailer', to: 3, reason: 'backlog 25 / target 10 per replica' });
    expect(body.history.web.at(-1)).toMatchObject({ replicas: 1, requestRate: 10, p99Ms: 4 });
  });

  it('keeps the token out of the log lines it shows', async () => {
    source.log('web', 'supervisor', 'info', `console: ${c.url}`);
    const body = JSON.parse((await call(c.port, 'GET', '/api/state', { [TOKEN_HEADER]: c.token })).body);
    expect(body.logs.at(-1).msg).toBe(`console: ${c.origin}/?token=<token>`);
  });

  it('names the option to use when the port is taken', async () => {
    await expect(startConsole({ source, port: c.port, print: null })).rejects.toMatchObject({ code: 'ARCH_E_CONSOLE_PORT' });
  });
});

describe('metric history', () => {
  it('keeps samples for the window only and joins backlog by owning unit', () => {
    const h = new MetricHistory(1000);
    const snap = { service: 's', units: [{ name: 'w', kind: 'worker' as const, replicas: { ready: 1, desired: 2, min: 0, max: 3 }, health: 'healthy' as const, restarts: 0, backoffMs: null }] };
    const topics = [{ topic: 't', subscriptions: [{ subscription: 's1', topic: 't', unit: 'w', backlog: 7, oldestAgeMs: 300, deadLetters: 0 }] }];
    h.record(0, snap, { w: { cpu: 12, p99Ms: Number.NaN } }, topics);
    h.record(600, snap, {}, []);
    expect(h.samples('w')).toHaveLength(2);
    expect(h.samples('w')[0]).toEqual({ at: 0, replicas: 1, desired: 2, cpu: 12, backlog: { s1: { backlog: 7, oldestAgeMs: 300 } } });
    h.record(1500, snap, {}, []);
    expect(h.samples('w').map((s) => s.at)).toEqual([600, 1500]);
  });
});
