// The public API over app.inject() on a real, migrated database.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordActivity } from '../src/domain/notifications.js';
import { apiHarness, expectError, type ApiHarness } from './support/api.js';
import type { TestContext } from './support/context.js';

let h: ApiHarness;
let ctx: TestContext;
let app: FastifyInstance;
type Json = any;

beforeAll(async () => {
  h = await apiHarness({ AUTH_RATE_LIMIT: '1000' });
  ({ ctx, app } = h);
});
afterAll(() => h?.close());

const call: ApiHarness['call'] = (...args) => h.call(...args);
const user: ApiHarness['user'] = (...args) => h.user(...args);

describe('accounts', () => {
  it('signs up, logs in by username or email, and reads /me', async () => {
    const u = await user(['TypeScript', 'postgres', 'typescript']);
    const me = await call('GET', '/me', { token: u.token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: u.id, username: u.name, tags: ['postgres', 'typescript'], digest: { optIn: true, timeZone: 'UTC' } });
    expect(JSON.stringify(me.body)).not.toContain('scrypt');
    for (const login of [u.name, `${u.name}@example.com`]) {
      const res = await call('POST', '/auth/login', { body: { login, password: 'correct horse' } });
      expect(res.status).toBe(200);
      expect(res.body.token).toMatch(/^ak_/);
    }
    expectError(await call('POST', '/auth/login', { body: { login: u.name, password: 'wrong horse' } }), 401, 'INVALID_CREDENTIALS');
    expectError(await call('POST', '/auth/login', { body: { login: 'nobody', password: 'wrong horse' } }), 401, 'INVALID_CREDENTIALS');
  });

  it('refuses a taken username and invalid sign-ups', async () => {
    const u = await user();
    expectError(await call('POST', '/auth/signup', { body: { username: u.name.toUpperCase(), email: 'x@example.com', password: 'longenough' } }), 409, 'CONFLICT');
    expectError(await call('POST', '/auth/signup', { body: { username: 'ok_name', email: 'not-an-email', password: 'longenough' } }), 400, 'VALIDATION_FAILED');
    expectError(await call('POST', '/auth/signup', { body: { username: 'ok_name2', email: 'a@example.com', password: 'short' } }), 400, 'VALIDATION_FAILED');
    expectError(await call('POST', '/auth/signup', { body: { username: 'ok_name3', email: 'b@example.com', password: 'longenough', timeZone: 'Mars/Base' } }), 400, 'VALIDATION_FAILED');
  });

  it('updates followed tags and digest preferences', async () => {
    const u = await user();
    const tags = await call('PUT', '/me/tags', { token: u.token, body: { tags: ['Rust', 'go'] } });
    expect(tags.body.tags).toEqual(['go', 'rust']);
    const digest = await call('PUT', '/me/digest', { token: u.token, body: { optIn: false, timeZone: 'Europe/Paris' } });
    expect(digest.body.digest).toEqual({ optIn: false, timeZone: 'Europe/Paris' });
    expectError(await call('PUT', '/me/digest', { token: u.token, body: { timeZone: 'Nowhere/Land' } }), 400, 'VALIDATION_FAILED');
  });
});

describe('posts and engagement', () => {
  it('pages the feed by followed tags, newest first, without repeats', async () => {
    const author = await user();
    const reader = await user(['feedtag']);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await call('POST', '/posts', { token: author.token, body: { title: `post ${i}`, tags: [i % 2 ? 'feedtag' : 'other'], url: 'https://example.com/x' } });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: Json } = await call('GET', `/feed?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: reader.token });
      seen.push(...res.body.items.map((p: Json) => p.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([ids[5], ids[3], ids[1]]);
    expectError(await call('GET', '/feed?cursor=garbage', { token: reader.token }), 400, 'VALIDATION_FAILED');
  });

  it('upvotes, comments and bookmarks a post', async () => {
    const a = await user();
    const b = await user();
    const post = (await call('POST', '/posts', { token: a.token, body: { title: 'hello', body: 'world', tags: ['x'] } })).body;
    expect((await call('POST', `/posts/${post.id}/upvote`, { token: b.token })).status).toBe(201);
    expect((await call('POST', `/posts/${post.id}/upvote`, { token: b.token })).status).toBe(200);
    expect((await call('GET', `/posts/${post.id}`, { token: b.token })).body.upvoted).toBe(true);
    const c = await call('POST', `/posts/${post.id}/comments`, { token: b.token, body: { body: 'nice' } });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ postId: post.id, author: { id: b.id }, body: 'nice' });
    const list = await call('GET', `/posts/${post.id}/comments`);
    expect(list.body.items.map((x: Json) => x.body)).toEqual(['nice']);
    expect((await call('POST', `/posts/${post.id}/bookmark`, { token: b.token })).status).toBe(201);
    expect((await call('GET', '/bookmarks', { token: b.token })).body.items.map((p: Json) => p.id)).toEqual([post.id]);
    expect((await call('DELETE', `/posts/${post.id}/bookmark`, { token: b.token })).status).toBe(204);
    expect((await call('DELETE', `/posts/${post.id}/upvote`, { token: b.token })).status).toBe(204);
    expectError(await call('DELETE', `/posts/${post.id}/upvote`, { token: b.token }), 404, 'NOT_FOUND');
    expectError(await call('GET', '/posts/999999999'), 404, 'NOT_FOUND');
    expectError(await call('POST', '/posts/999999999/upvote', { token: b.token }), 404, 'NOT_FOUND');
  });

  it('lists and marks notifications read', async () => {
    const a = await user();
    const b = await user();
    const post = (await call('POST', '/posts', { token: a.token, body: { title: 'notify me' } })).body;
    await recordActivity(ctx.db, { recipient: a.id, postId: post.id, kind: 'upvote', actor: b.id, at: new Date().toISOString() });
    const list = await call('GET', '/notifications', { token: a.token });
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ kind: 'upvote', count: 1, read: false, message: `${b.name} upvoted your post`, post: { id: post.id } });
    expect((await call('POST', '/notifications/read', { token: a.token, body: { all: true } })).body).toEqual({ updated: 1 });
    expect((await call('GET', '/notifications?unread=true', { token: a.token })).body.items).toHaveLength(0);
  });
});

describe('security', () => {
  it('refuses every authenticated route without, with expired and with forged tokens', async () => {
    const a = await user();
    const post = (await call('POST', '/posts', { token: a.token, body: { title: 'target' } })).body;
    const expired = await user();
    await ctx.db.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [expired.id]);
    const forged = `ak_${'A'.repeat(43)}`;
    const routes: [string, string, unknown?][] = [
      ['GET', '/me'], ['PUT', '/me/tags', { tags: ['x'] }], ['PUT', '/me/digest', { optIn: false }],
      ['POST', '/posts', { title: 't' }], ['GET', '/feed'],
      ['POST', `/posts/${post.id}/upvote`], ['DELETE', `/posts/${post.id}/upvote`],
      ['POST', `/posts/${post.id}/comments`, { body: 'x' }], ['POST', `/posts/${post.id}/bookmark`],
      ['DELETE', `/posts/${post.id}/bookmark`], ['GET', '/bookmarks'], ['GET', '/notifications'],
      ['POST', '/notifications/read', { all: true }],
    ];
    for (const [method, path, body] of routes) {
      for (const token of [undefined, expired.token, forged, 'not-a-token']) {
        const res = await call(method, path, { token, body });
        expect(res.status, `${method} ${path} with ${token ?? 'no token'}`).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHORIZED');
      }
    }
    const tampered = a.token.slice(0, -1) + (a.token.endsWith('A') ? 'B' : 'A');
    expectError(await call('GET', '/me', { token: tampered }), 401, 'UNAUTHORIZED');
  });

  it("never lets a user change another user's upvotes, bookmarks or notifications", async () => {
    const a = await user();
    const b = await user();
    const post = (await call('POST', '/posts', { token: a.token, body: { title: 'mine' } })).body;
    await call('POST', `/posts/${post.id}/upvote`, { token: a.token });
    await call('POST', `/posts/${post.id}/bookmark`, { token: a.token });
    const nid = await recordActivity(ctx.db, { recipient: a.id, postId: post.id, kind: 'comment', actor: b.id, at: new Date().toISOString() });

    expectError(await call('DELETE', `/posts/${post.id}/upvote`, { token: b.token }), 404);
    expectError(await call('DELETE', `/posts/${post.id}/bookmark`, { token: b.token }), 404);
    expect((await call('POST', '/notifications/read', { token: b.token, body: { ids: [nid] } })).body).toEqual({ updated: 0 });
    expect((await call('GET', '/notifications', { token: b.token })).body.items).toEqual([]);

    const mine = await call('GET', `/posts/${post.id}`, { token: a.token });
    expect(mine.body).toMatchObject({ upvoted: true, bookmarked: true });
    expect((await call('GET', '/notifications?unread=true', { token: a.token })).body.items.map((x: Json) => x.id)).toEqual([nid]);
    // A body field naming another user is not part of any schema: it is refused, nothing changes.
    const res = await call('PUT', '/me/tags', { token: b.token, body: { tags: ['stolen'], userId: a.id } });
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body.userId' });
    expect((await call('GET', '/me', { token: a.token })).body.tags).toEqual([]);
    expect((await call('GET', '/me', { token: b.token })).body.tags).toEqual([]);
  });

  it('answers oversized, malformed and invalid bodies and unknown routes with a JSON 4xx', async () => {
    const u = await user();
    const big = JSON.stringify({ title: 'x', body: 'y'.repeat(100 * 1024) });
    expectError(await call('POST', '/posts', { token: u.token, raw: big }), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await call('POST', '/posts', { token: u.token, raw: '{"title": ' }), 400, 'MALFORMED_JSON');
    expectError(await call('POST', '/posts', { token: u.token, raw: '' }), 400, 'MALFORMED_JSON');
    expectError(await call('POST', '/auth/login', { raw: '{"login":1,' }), 400, 'MALFORMED_JSON');
    expectError(await call('POST', '/posts', { token: u.token, raw: 'title=x', headers: { 'content-type': 'application/xml' } }), 415);
    expectError(await call('POST', '/posts', { token: u.token, body: { title: '' } }), 400, 'VALIDATION_FAILED');
    expectError(await call('POST', '/posts', { token: u.token, body: { title: 'x', url: 'javascript:alert(1)' } }), 400, 'VALIDATION_FAILED');
    expectError(await call('GET', '/posts/abc'), 400, 'VALIDATION_FAILED');
    expectError(await call('GET', '/feed?limit=1000', { token: u.token }), 400, 'VALIDATION_FAILED');
    expectError(await call('GET', '/nope'), 404, 'NOT_FOUND');
  });

  it('rate-limits the auth routes across replicas (the counters are in PostgreSQL)', async () => {
    await ctx.db.query('DELETE FROM rate_limits');
    // Two api replicas on the same database: alternate between them.
    const limited = await h.replica({ AUTH_RATE_LIMIT: '3' });
    const other = await h.replica({ AUTH_RATE_LIMIT: '3' });
    try {
      const statuses: number[] = [];
      let last: Json;
      for (let i = 0; i < 5; i++) {
        const res = await (i % 2 ? other : limited).app.inject({ method: 'POST', url: '/auth/login', payload: { login: 'nobody', password: 'x' } });
        statuses.push(res.statusCode);
        last = res.json();
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      expect(last.error.code).toBe('RATE_LIMITED');
      // Other routes are not limited.
      for (let i = 0; i < 5; i++) expect((await limited.app.inject({ method: 'GET', url: '/posts/999999999' })).statusCode).toBe(404);
      const { rows } = await ctx.db.query(`SELECT key, hits FROM rate_limits WHERE key LIKE 'POST %'`);
      expect(rows).toEqual([{ key: 'POST /auth/login:127.0.0.1', hits: 5 }]);
    } finally {
      await limited.close();
      await other.close();
    }
  });
});

describe('documentation', () => {
  it('serves the OpenAPI document and its UI', async () => {
    const doc = await call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    for (const p of ['/auth/signup', '/auth/login', '/me', '/feed', '/posts/{id}/upvote', '/notifications/read']) expect(doc.body.paths).toHaveProperty([p]);
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
  });
});
