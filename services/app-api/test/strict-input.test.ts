// Issue 14, findings 2 and 8, through real HTTP handling on real PostgreSQL: bodies are taken as
// sent (no coercion, unknown properties refused, null only where allowed, single-line titles),
// crafted cursors and NUL characters are 400s naming the field (never 500), and a bad token on a
// public route is refused rather than served as anonymous.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../src/domain/posts.js';
import { apiHarness, expectError, type ApiHarness } from './support/api.js';

let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness({ AUTH_RATE_LIMIT: '1000' });
});
afterAll(() => h?.close());

const postsBy = async (userId: string) => (await h.ctx.db.query('SELECT title FROM posts WHERE author_id = $1', [userId])).rows.map((r) => r.title);
const b64 = (s: string) => Buffer.from(s).toString('base64url');

describe('finding 2: bodies are validated as sent', () => {
  it('refuses a number or an array for a title instead of storing "5" or "x"', async () => {
    const u = await h.user();
    for (const title of [5, ['x'], true, null, { t: 'x' }]) {
      const res = await h.call('POST', '/posts', { token: u.token, body: { title } });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.field).toBe('body.title');
    }
    expect(await postsBy(u.id)).toEqual([]);
  });

  it('refuses {"optIn": null} instead of opting the user out', async () => {
    const u = await h.user();
    const res = await h.call('PUT', '/me/digest', { token: u.token, body: { optIn: null } });
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.field).toBe('body.optIn');
    expect((await h.call('GET', '/me', { token: u.token })).body.digest.optIn).toBe(true);
  });

  it('refuses an unknown property, naming it, instead of answering 200 and changing nothing', async () => {
    const u = await h.user();
    const res = await h.call('PUT', '/me/digest', { token: u.token, body: { timezone: 'Europe/Paris' } });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', field: 'body.timezone' } } });
    expect(res.body.error.message).toContain('timezone');
    const post = await h.call('POST', '/posts', { token: u.token, body: { title: 'ok', tag: ['x'] } });
    expect(post.body.error.field).toBe('body.tag');
    expect(await postsBy(u.id)).toEqual([]);
  });

  it('refuses control characters in a title, so no line break can reach a digest Subject', async () => {
    const u = await h.user();
    for (const title of ['Hello\r\nBcc: everyone@example.com', 'tab\tbed', 'bell\u0007', 'sep\u2028arated']) {
      const res = await h.call('POST', '/posts', { token: u.token, body: { title } });
      expect(res.body.error, JSON.stringify(title)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body.title' });
    }
    expect(await postsBy(u.id)).toEqual([]);
    // A body is multi-line text and keeps its line breaks.
    expect((await h.call('POST', '/posts', { token: u.token, body: { title: 'fine', body: 'two\nlines' } })).status).toBe(201);
  });
});

describe('finding 8: crafted input is a 400 naming the field, never a 500', () => {
  let token: string;
  let postId: string;
  beforeAll(async () => {
    const u = await h.user();
    token = u.token;
    postId = (await h.call('POST', '/posts', { token, body: { title: 'target' } })).body.id;
    await h.call('POST', `/posts/${postId}/bookmark`, { token });
  });

  const cursors = [
    ['MXwx (base64 of "1|1": Date.parse takes "1")', 'MXwx'],
    ['a 19-digit id', encodeCursor('2026-01-01T00:00:00.000000Z', '9999999999999999999')],
    ['an id over bigint', b64('2026-01-01T00:00:00.000000Z|99999999999999999999')],
    ['a date Date.parse accepts and PostgreSQL does not', b64('Tuesday 12|1')],
    ['year zero', b64('0000-01-01T00:00:00.000000Z|1')],
    ['the 31st of February', b64('2026-02-31T00:00:00.000000Z|1')],
    ['a timestamp part only', b64('2026-01-01T00:00:00.000000Z')],
    ['not base64url', '%2B%2F%3D%3D'],
    ['a NUL in the cursor', '%00'],
    ['a 1|9999999999999999999 cursor as plain text', '1%7C9999999999999999999'],
  ];
  for (const path of ['/feed', '/bookmarks', '/posts/:id/comments']) {
    it(`answers crafted cursors on ${path} with 400 querystring.cursor`, async () => {
      for (const [what, cursor] of cursors) {
        const res = await h.call('GET', `${path.replace(':id', postId)}?cursor=${cursor}`, { token });
        expect(res.status, `${path} ${what}`).toBe(400);
        expect(res.body.error, `${path} ${what}`).toMatchObject({ code: 'VALIDATION_FAILED', field: 'querystring.cursor' });
      }
      // A cursor the API itself handed out still works.
      const ok = await h.call('GET', `${path.replace(':id', postId)}?cursor=${encodeCursor('2026-01-01T00:00:00.000000Z', '1')}`, { token });
      expect(ok.status).toBe(200);
    });
  }

  it('answers a NUL character in any string field with 400 (PostgreSQL would refuse it with 22021)', async () => {
    const nul = 'a\u0000b';
    const cases: [string, string, unknown, string][] = [
      ['POST', '/auth/login', { login: nul, password: 'whatever1' }, 'body.login'],
      ['POST', '/auth/login', { login: 'someone', password: nul }, 'body.password'],
      ['POST', '/auth/signup', { username: 'nul_user', email: 'nul@example.com', password: `long${nul}enough` }, 'body.password'],
      ['POST', '/posts', { title: 'ok', body: nul }, 'body.body'],
      ['POST', `/posts/${postId}/comments`, { body: nul }, 'body.body'],
      ['PUT', '/me/digest', { timeZone: nul }, 'body.timeZone'],
      ['PUT', '/me/tags', { tags: [nul] }, 'body.tags[0]'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await h.call(method, path, { token, body });
      expect(res.status, `${method} ${path} ${field}`).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field });
    }
    expect((await h.call('GET', `/posts/${postId}%00`)).body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'params.id' });
  });

  it('refuses an invalid token on a public route instead of serving it as anonymous', async () => {
    for (const path of [`/posts/${postId}`, `/posts/${postId}/comments`]) {
      expect((await h.call('GET', path)).status, `${path} anonymous`).toBe(200);
      expect((await h.call('GET', path, { token })).status, `${path} signed in`).toBe(200);
      for (const bad of [`ak_${'A'.repeat(43)}`, 'not-a-token']) expectError(await h.call('GET', path, { token: bad }), 401, 'UNAUTHORIZED');
      expectError(await h.call('GET', path, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'UNAUTHORIZED');
    }
  });
});
