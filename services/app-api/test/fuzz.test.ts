// Issue 14, "done when": at least 300 malformed requests to every route of the OpenAPI document
// (see support/fuzz.ts), through the api unit's real app on real PostgreSQL. No 5xx, every 4xx is
// JSON with error.code, nothing stored that the schemas forbid, and the service is healthy after.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from 'archipelago-toolkit/testing';
import { apiHarness, type ApiHarness } from './support/api.js';
import { malformed, operations, type Fixtures } from './support/fuzz.js';

const PER_ROUTE = 300;
let h: ApiHarness;
let f: Fixtures;

beforeAll(async () => {
  h = await apiHarness({ AUTH_RATE_LIMIT: '1000000', LOGIN_ACCOUNT_RATE_LIMIT: '1000000' });
  const a = await h.user(['fuzz']), other = await h.user(), expired = await h.user();
  await h.ctx.db.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [expired.id]);
  const post = await h.call('POST', '/posts', { token: a.token, body: { title: 'fuzz target', tags: ['fuzz'] } });
  f = { postId: post.body.id, token: a.token, expiredToken: expired.token, otherToken: other.token };
});
afterAll(() => h?.close());

describe('fuzz from the OpenAPI document', () => {
  it(`sends at least ${PER_ROUTE} malformed requests to every route: no 5xx, every 4xx a JSON error with a code`, async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThanOrEqual(17);
    const failures: string[] = [];
    const perRoute: Record<string, number> = {};
    const statuses: Record<number, number> = {};
    let sent = 0;
    for (const [i, op] of ops.entries()) {
      const requests = malformed(op, f, PER_ROUTE, 1000 * i);
      perRoute[`${op.method} ${op.path}`] = requests.length;
      for (const r of requests) {
        const res = await h.app.inject({ method: r.method as 'GET', url: r.url, headers: r.headers, payload: r.payload });
        sent++;
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        const where = `${r.method} ${r.url.slice(0, 80)} (${op.method} ${op.path}: ${r.what})`;
        if (res.statusCode >= 500) failures.push(`${where} → ${res.statusCode} ${res.body.slice(0, 200)}`);
        else if (res.statusCode >= 400) {
          let code: unknown;
          try { code = JSON.parse(res.body).error?.code; } catch { code = undefined; }
          if (typeof code !== 'string' || !String(res.headers['content-type']).startsWith('application/json')) failures.push(`${where} → ${res.statusCode} without error.code: ${res.body.slice(0, 200)}`);
        }
      }
    }
    const noCode = failures.filter((x) => x.includes('without error.code')).length;
    console.info(`fuzz: ${sent} requests over ${ops.length} routes; statuses ${JSON.stringify(statuses)}; 5xx ${failures.length - noCode}, 4xx without error.code ${noCode}`);
    expect(failures.slice(0, 20)).toEqual([]);
    for (const [route, n] of Object.entries(perRoute)) expect(n, route).toBeGreaterThanOrEqual(PER_ROUTE);
    expect(statuses[500] ?? 0).toBe(0);
  });

  it('stored nothing the schemas forbid', async () => {
    const q = async (sql: string) => (await h.ctx.db.query(sql)).rows;
    const control = `'[\\x01-\\x1f\\x7f-\\x9f\\u2028\\u2029]'`;
    expect(await q(`SELECT id, title FROM posts WHERE title ~ ${control} OR char_length(title) NOT BETWEEN 1 AND 300
      OR (url IS NOT NULL AND url !~ '^https?://') OR char_length(body) > 20000 OR cardinality(tags) > 20
      OR EXISTS (SELECT 1 FROM unnest(tags) t WHERE t !~ '^[a-z0-9][a-z0-9+#.-]{0,31}$')`)).toEqual([]);
    expect(await q(`SELECT id FROM comments WHERE char_length(body) NOT BETWEEN 1 AND 10000`)).toEqual([]);
    expect(await q(`SELECT id, username FROM users WHERE username !~ '^[A-Za-z0-9_]{3,32}$' OR email !~ '^[^@\\s]+@[^@\\s]+$'
      OR time_zone ~ ${control} OR cardinality(tags) > 20`)).toEqual([]);
    const zones = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);
    const stored = (await q('SELECT DISTINCT time_zone FROM users')).map((r) => r.time_zone as string);
    expect(stored.filter((z) => !zones.has(z))).toEqual([]);
    // No prototype pollution reached the process.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers errors raised before routing in the same JSON shape, over a real socket', async () => {
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as AddressInfo).port;
    const close = 'Host: x\r\nConnection: close\r\n';
    const cases: [string, number, string][] = [
      [`GET /feed HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
      [`GET /posts/${'1'.repeat(101)} HTTP/1.1\r\n${close}\r\n`, 414, 'URI_TOO_LONG'],
      [`GET /posts/%zz HTTP/1.1\r\n${close}\r\n`, 400, 'BAD_URL'],
      ['POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1x\r\n\r\n{}', 400, 'BAD_REQUEST'],
      ['POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}', 400, 'BAD_REQUEST'],
      ['BREW /feed HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'METHOD_NOT_ALLOWED'],
      [`GET /nope HTTP/1.1\r\n${close}\r\n`, 404, 'NOT_FOUND'],
      [`POST /auth/login HTTP/1.1\r\n${close}Content-Type: application/json\r\nContent-Length: 70000\r\n\r\n{"login":"${'x'.repeat(69_986)}"}`, 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [request, status, code] of cases) {
      const res = await rawRequest(port, request);
      expect(res.status, request.slice(0, 40)).toBe(status);
      expect(res.body, request.slice(0, 40)).toEqual({ error: { code, message: expect.any(String) } });
    }
  });

  it('is still healthy: a normal session works end to end and the pool has nothing stuck', async () => {
    const u = await h.user(['after']);
    const post = await h.call('POST', '/posts', { token: u.token, body: { title: 'still here', tags: ['after'] } });
    expect(post.status).toBe(201);
    const feed = await h.call('GET', '/feed?limit=5', { token: u.token });
    expect(feed.body.items.map((p: { id: string }) => p.id)).toContain(post.body.id);
    expect((await h.call('GET', '/openapi.json')).status).toBe(200);
    expect(h.ctx.db.waitingCount).toBe(0);
  });
});
