// One upvote, one trace, across real processes: `archipelago up` (console on, so it collects the
// replicas' traces) runs every unit; B upvotes A's post while A watches it on a WebSocket. The
// console then holds ONE trace with the api's request, the cdc relay's publish of the row change,
// the background handler and the realtime push, in causal order, each naming its unit; and the
// console page finds that trace and draws its waterfall.
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { createDatabase } from './support/context.js';
import { startAppUp, type AppUp } from './support/up.js';

/** What the console's trace API answers (GET /api/traces and /api/traces/<id>), as far as this test reads it. */
interface TraceSpan { spanId: string; parentSpanId?: string; name: string; kind: string; unit: string; startMs: number; attributes: Record<string, string | number | boolean> }
interface TraceSummary { traceId: string; root: string }
interface TraceView extends TraceSummary { units: string[]; items: TraceSpan[] }

// Debian's Chromium drives the console (see the toolkit's console tests); under CI=true it must be there.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM) && process.env.CI === 'true') throw new Error(`the console browser test needs Chromium under CI: ${CHROMIUM} is missing`);

describe('one trace from an upvote to the WebSocket push', () => {
  let up: AppUp;
  let consoleUrl: string;
  let consoleOrigin: string;
  let token: string;
  let found: TraceView | undefined;

  beforeAll(async () => {
    const dbUrl = await createDatabase('appapi_trace', { replication: true });
    up = await startAppUp({
      // A name of its own: its cdc slot must not meet e2e.test.ts's, on the same server at the same time.
      prefix: 'trace', name: 'app-api-traced', args: ['--json', '--console-port', '0'],
      env: { ...process.env, DATABASE_URL: dbUrl, NO_COLOR: '1', ARCHIPELAGO_SUPERVISOR: JSON.stringify({ pollingMs: 500 }) },
    });
    consoleUrl = await up.until('the console URL', () => /console: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(up.output())?.[1], 180_000);
    const u = new URL(consoleUrl);
    consoleOrigin = u.origin;
    token = u.searchParams.get('token')!;
    await up.until('the api', async () => (await fetch(`${up.api}/openapi.json`)).ok, 120_000);
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    try {
      // Logical replication sees only what is written after the relay's slot exists.
      await up.until('the change relay', async () => (await db.query(`SELECT 1 FROM pg_replication_slots WHERE database = current_database() AND active`)).rowCount === 1, 120_000);
    } finally {
      await db.end();
    }
  }, 300_000);

  afterAll(async () => { await up?.stop(); }, 40_000);

  const call = async (method: string, p: string, bearer?: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${up.api}${p}`, {
      method, headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const consoleGet = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${consoleOrigin}${p}`, { headers: { 'x-archipelago-token': token } });
    if (!res.ok) throw new Error(`${p}: ${res.status}`);
    return res.json() as Promise<T>;
  };

  it('finds the api request, the relay\'s publish, the background handler and the realtime push in one trace, in causal order', async () => {
    const tag = `tr${Date.now().toString(36)}`;
    const a = await call('POST', '/auth/signup', undefined, { username: `alice_${tag}`, email: `alice.${tag}@example.com`, password: 'correct horse', tags: [tag] });
    const b = await call('POST', '/auth/signup', undefined, { username: `bob_${tag}`, email: `bob.${tag}@example.com`, password: 'correct horse', tags: [tag] });
    const post = await call('POST', '/posts', a.token, { title: `Traced ${tag}`, tags: [tag] });
    const messages: any[] = [];
    const ws = new WebSocket(up.live, { headers: { authorization: `Bearer ${a.token}` } });
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    try {
      ws.send(JSON.stringify({ type: 'subscribe', post: post.id }));
      await up.until('subscribed', () => messages.some((m) => m.type === 'subscribed'));
      await call('POST', `/posts/${post.id}/upvote`, b.token);
      await up.until('the live counter', () => messages.some((m) => m.type === 'post' && m.id === post.id && m.upvotes === 1));
    } finally {
      ws.close();
    }

    const path = `/posts/${post.id}/upvote`;
    found = await up.until('the upvote\'s whole trace in the console', async () => {
      const { collecting, traces } = await consoleGet<{ collecting: boolean; traces: TraceSummary[] }>('/api/traces');
      expect(collecting).toBe(true);
      for (const t of traces.filter((x) => x.root === 'POST /posts/:id/upvote')) {
        const view = await consoleGet<TraceView>(`/api/traces/${t.traceId}`);
        if (!view.items.some((s) => s.attributes['url.path'] === path)) continue;
        if (view.items.some((s) => s.unit === 'realtime' && s.name === 'websocket send')) return view;
      }
      return undefined;
    }, 60_000);

    const spans = found.items;
    const one = (what: string, f: (s: TraceSpan) => boolean) => {
      const s = spans.find(f);
      expect(s, what).toBeDefined();
      return s!;
    };
    const request = one('the api request', (s) => s.unit === 'api' && s.kind === 'server' && s.name === 'POST /posts/:id/upvote');
    const relay = one('the relay\'s publish of the change', (s) => s.unit === 'changes' && s.kind === 'producer' && s.name === 'publish changes.upvotes' && s.attributes['archipelago.cdc.table'] === 'upvotes');
    const handler = one('the background handler', (s) => s.unit === 'background' && s.kind === 'consumer' && s.name === 'process changes.upvotes');
    const push = one('the realtime push', (s) => s.unit === 'realtime' && s.name === 'websocket send' && s.attributes['archipelago.ws.channel'] === `post:${post.id}`);
    for (const s of [request, relay, handler, push]) expect(s.attributes['archipelago.unit']).toBe(s.unit);
    expect(push.attributes['archipelago.ws.recipients']).toBe(1);

    // Causal order: each is a descendant of the one before, and starts after it.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const descends = (s: TraceSpan, from: TraceSpan) => {
      for (let p = s.parentSpanId; p; p = byId.get(p)?.parentSpanId) if (p === from.spanId) return true;
      return false;
    };
    expect(request.parentSpanId).toBeUndefined();
    expect(descends(relay, request)).toBe(true);
    expect(descends(handler, relay)).toBe(true);
    expect(descends(push, handler)).toBe(true);
    expect(request.startMs).toBeLessThanOrEqual(relay.startMs);
    expect(relay.startMs).toBeLessThanOrEqual(handler.startMs);
    expect(handler.startMs).toBeLessThanOrEqual(push.startMs);
    // The units it crossed, as the list shows them.
    expect(found.units).toEqual(expect.arrayContaining(['api', 'changes', 'background', 'realtime']));
    // The api's own queries are client spans of the request.
    expect(spans.some((s) => s.unit === 'api' && s.kind === 'client' && s.attributes['db.system.name'] === 'postgresql' && descends(s, request))).toBe(true);
  }, 180_000);

  it.skipIf(!existsSync(CHROMIUM))('the console lists that trace and draws its waterfall across the units', async () => {
    expect(found, 'the trace of the previous test').toBeDefined();
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(consoleUrl);
      await page.waitForSelector('body[data-ready="true"]');
      const row = await page.waitForSelector(`#traces tr.trace[data-trace-id="${found!.traceId}"]`, { timeout: 30_000 });
      expect(await row.textContent()).toContain('POST /posts/:id/upvote');
      expect(await row.textContent()).toContain('realtime');
      await row.click();
      await page.waitForSelector(`#waterfall[data-trace-id="${found!.traceId}"] .span-row[data-unit="realtime"]`, { timeout: 30_000 });
      const units = await page.$$eval('#waterfall .span-row', (rows) => rows.map((r) => (r as HTMLElement).dataset.unit));
      for (const u of ['api', 'changes', 'background', 'realtime']) expect(units).toContain(u);
      const names = await page.$$eval('#waterfall .span-row .span-name', (els) => els.map((e) => e.textContent));
      expect(names).toEqual(expect.arrayContaining(['POST /posts/:id/upvote', 'publish changes.upvotes', 'process changes.upvotes', 'websocket send']));
    } finally {
      await browser.close();
    }
  }, 120_000);
});
