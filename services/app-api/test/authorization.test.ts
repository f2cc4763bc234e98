// Issue 14, "done when": the authorization matrix. For every mutation and private read, user B
// acts on user A's resources (posts, comments, bookmarks, upvotes, notifications, digest settings,
// A's WebSocket channel); each attempt is refused or acts on B's own rows only, and A's rows are
// byte for byte what they were.
import { loadService } from 'archipelago-toolkit';
import { startUnitHost, type UnitHost } from 'archipelago-toolkit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { getNotification, recordActivity } from '../src/domain/notifications.js';
import { live } from '../src/topics.js';
import { apiHarness, type ApiHarness } from './support/api.js';
import { SERVICE_ROOT } from './support/context.js';

let h: ApiHarness;
let a: { id: string; token: string; name: string };
let b: { id: string; token: string; name: string };
let postId: string, commentId: string, notificationId: string;

beforeAll(async () => {
  h = await apiHarness({ AUTH_RATE_LIMIT: '1000' });
  a = await h.user(['shared']);
  b = await h.user(['shared']);
  postId = (await h.call('POST', '/posts', { token: a.token, body: { title: "A's post", body: 'original', tags: ['shared'] } })).body.id;
  commentId = (await h.call('POST', `/posts/${postId}/comments`, { token: a.token, body: { body: "A's comment" } })).body.id;
  await h.call('POST', `/posts/${postId}/upvote`, { token: a.token });
  await h.call('POST', `/posts/${postId}/bookmark`, { token: a.token });
  await h.call('PUT', '/me/digest', { token: a.token, body: { optIn: true, timeZone: 'Asia/Tokyo' } });
  notificationId = await recordActivity(h.ctx.db, { recipient: a.id, postId, kind: 'comment', actor: b.id, at: new Date().toISOString() });
});
afterAll(() => h?.close());

/** Every row that belongs to A, as stored. */
async function rowsOfA() {
  const q = async (sql: string) => (await h.ctx.db.query(sql, [a.id])).rows;
  return {
    user: await q('SELECT * FROM users WHERE id = $1'),
    sessions: await q('SELECT token_hash, expires_at FROM sessions WHERE user_id = $1 ORDER BY token_hash'),
    posts: await q('SELECT * FROM posts WHERE author_id = $1 ORDER BY id'),
    comments: await q('SELECT * FROM comments WHERE author_id = $1 ORDER BY id'),
    upvotes: await q('SELECT * FROM upvotes WHERE user_id = $1 ORDER BY post_id'),
    bookmarks: await q('SELECT * FROM bookmarks WHERE user_id = $1 ORDER BY post_id'),
    notifications: await q('SELECT * FROM notifications WHERE user_id = $1 ORDER BY id'),
  };
}

describe('authorization matrix: B against A', () => {
  it("refuses every mutation of A's resources and changes none of A's rows", async () => {
    const before = await rowsOfA();
    const attempts: [string, string, unknown, number[]][] = [
      // Posts and comments have no edit or delete route: nobody can change them, B included.
      ['PUT', `/posts/${postId}`, { title: 'hijacked' }, [404]],
      ['PATCH', `/posts/${postId}`, { title: 'hijacked' }, [404]],
      ['DELETE', `/posts/${postId}`, undefined, [404]],
      ['PUT', `/posts/${postId}/comments/${commentId}`, { body: 'hijacked' }, [404]],
      ['DELETE', `/posts/${postId}/comments/${commentId}`, undefined, [404]],
      ['DELETE', `/comments/${commentId}`, undefined, [404]],
      // A's upvote and bookmark: B can only remove B's own, which do not exist.
      ['DELETE', `/posts/${postId}/upvote`, undefined, [404]],
      ['DELETE', `/posts/${postId}/bookmark`, undefined, [404]],
      // A's notifications: by id, or all of them.
      ['POST', '/notifications/read', { ids: [notificationId] }, [200]],
      // Settings: the body cannot name another user.
      ['PUT', '/me/digest', { optIn: false, userId: a.id }, [400]],
      ['PUT', '/me/digest', { optIn: false, id: a.id }, [400]],
      ['PUT', '/me/tags', { tags: ['stolen'], userId: a.id }, [400]],
      ['POST', '/posts', { title: 'as A', authorId: a.id }, [400]],
      ['POST', `/posts/${postId}/comments`, { body: 'as A', authorId: a.id }, [400]],
      ['POST', '/notifications/read', { ids: [notificationId], userId: a.id }, [400]],
    ];
    for (const [method, path, body, allowed] of attempts) {
      const res = await h.call(method, path, { token: b.token, body });
      expect(allowed, `${method} ${path} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
      if (res.status >= 400) expect(typeof res.body.error.code).toBe('string');
    }
    expect((await h.call('POST', '/notifications/read', { token: b.token, body: { ids: [notificationId] } })).body).toEqual({ updated: 0 });
    // B's own mutations act on B's rows only.
    for (const [method, path, body] of [
      ['PUT', '/me/digest', { optIn: false, timeZone: 'Europe/Paris' }], ['PUT', '/me/tags', { tags: ['mine'] }],
      ['POST', '/notifications/read', { all: true }], ['POST', `/posts/${postId}/bookmark`, undefined], ['DELETE', `/posts/${postId}/bookmark`, undefined],
      ['POST', `/posts/${postId}/upvote`, undefined], ['DELETE', `/posts/${postId}/upvote`, undefined],
    ] as const) expect((await h.call(method, path, { token: b.token, body })).status, `${method} ${path}`).toBeLessThan(300);
    const after = await rowsOfA();
    // The counters on A's post are the background unit's to keep; everything A owns is unchanged.
    expect(after).toEqual(before);
  });

  it("shows B none of A's private reads", async () => {
    const me = await h.call('GET', '/me', { token: b.token });
    expect(me.body).toMatchObject({ id: b.id, username: b.name });
    expect(JSON.stringify(me.body)).not.toContain(a.name);
    expect((await h.call('GET', '/bookmarks', { token: b.token })).body.items).toEqual([]);
    expect((await h.call('GET', '/notifications', { token: b.token })).body.items).toEqual([]);
    const post = await h.call('GET', `/posts/${postId}`, { token: b.token });
    expect(post.body).toMatchObject({ id: postId, upvoted: false, bookmarked: false });
    expect(JSON.stringify(post.body)).not.toContain('@example.com');
    // A still sees her own.
    expect((await h.call('GET', '/bookmarks', { token: a.token })).body.items.map((p: { id: string }) => p.id)).toEqual([postId]);
    expect((await h.call('GET', '/notifications', { token: a.token })).body.items.map((n: { id: string }) => n.id)).toEqual([notificationId]);
  });
});

describe("authorization matrix: A's WebSocket channel", () => {
  let host: UnitHost | undefined;
  afterAll(async () => {
    await host?.close();
  });

  it("never delivers A's notifications to B, whatever B asks for", async () => {
    const { service } = await loadService(`${SERVICE_ROOT}/archipelago.config.ts`);
    host = await startUnitHost({ service, unit: 'realtime', databaseUrl: h.url });

    const open = async (token: string) => {
      const ws = new WebSocket(`ws://127.0.0.1:${host!.port}/live?token=${token}`);
      const got: any[] = [];
      ws.on('message', (d) => got.push(JSON.parse(String(d))));
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
      return { ws, got };
    };
    const until = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
      if (!ok()) throw new Error(`timed out waiting for ${what}`);
    };
    const wa = await open(a.token), wb = await open(b.token);
    await until('both hellos', () => wa.got.length > 0 && wb.got.length > 0);
    expect(wb.got[0]).toMatchObject({ type: 'hello', user: { id: b.id } });
    // B tries to join A's channel in every shape the protocol might take.
    for (const msg of [{ type: 'subscribe', channel: `user:${a.id}` }, { type: 'subscribe', post: `user:${a.id}` }, { type: 'subscribe', user: a.id },
      { type: 'subscribe', post: `../user:${a.id}` }, { type: 'join', channel: `user:${a.id}` }]) wb.ws.send(JSON.stringify(msg));
    await until("B's five answers", () => wb.got.length >= 6);
    expect(wb.got.slice(1).map((m) => m.type)).toEqual(['error', 'error', 'error', 'error', 'error']);

    const notification = (await getNotification(h.ctx.db, notificationId))!;
    await host.messaging.broadcast(live, { kind: 'notification', userId: a.id, notification: { ...notification } });
    await until("A's notification", () => wa.got.some((m) => m.type === 'notification'));
    // A ping after the broadcast: once B has its pong, anything for B from before has arrived too.
    wb.ws.send(JSON.stringify({ type: 'ping' }));
    await until("B's pong", () => wb.got.some((m) => m.type === 'pong'));
    expect(wa.got.find((m) => m.type === 'notification')).toMatchObject({ id: notificationId });
    expect(wb.got.filter((m) => m.type === 'notification')).toEqual([]);
    // A refused token never opens a socket.
    const refused = new WebSocket(`ws://127.0.0.1:${host.port}/live?token=ak_${'A'.repeat(43)}`);
    const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
    for (const w of [wa, wb]) w.ws.close();
  });
});
