// The background unit's effects on a real database: counters, reputation, aggregated
// notifications, idempotence under redelivery and under concurrent deliveries.
import type { Delivery } from 'archipelago-toolkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleChange } from '../src/units/background.js';
import type { Change } from '../src/topics.js';
import { migratedDatabase, unitContext, type TestContext } from './support/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await unitContext(await migratedDatabase(), 'background');
});
afterAll(async () => ctx?.close());

let seq = 0;
async function newUser(): Promise<string> {
  const n = ++seq;
  const { rows } = await ctx.db.query(`INSERT INTO users (username, email, password_hash) VALUES ($1, $2, 'x') RETURNING id::text`, [`u${n}`, `u${n}@example.com`]);
  return rows[0].id;
}
async function newPost(author: string): Promise<string> {
  const { rows } = await ctx.db.query(`INSERT INTO posts (author_id, title) VALUES ($1, 'p') RETURNING id::text`, [author]);
  return rows[0].id;
}
/** Writes the row as the API would and returns the change the cdc relay would publish for it. */
async function upvote(post: string, user: string): Promise<Change> {
  const { rows } = await ctx.db.query(`INSERT INTO upvotes (post_id, user_id) VALUES ($1, $2) RETURNING post_id, user_id, created_at`, [post, user]);
  return change('upvotes', 'insert', { ...rows[0], created_at: rows[0].created_at.toISOString() });
}
function change(table: string, op: 'insert' | 'update' | 'delete', row: Record<string, unknown>): Change {
  return { table, op, after: op === 'delete' ? undefined : row, before: op === 'delete' ? row : undefined, lsn: '0/1', committedAt: new Date().toISOString(), xid: 1 };
}
const deliver = (id: string, message: Change) =>
  handleChange({ id, message, attempt: 1, publishedAt: new Date(), topic: `changes.${message.table}`, subscription: 'test' } as Delivery<Change>, ctx);
async function state(post: string, author: string) {
  const p = (await ctx.db.query('SELECT upvotes, comment_count FROM posts WHERE id = $1', [post])).rows[0];
  const r = (await ctx.db.query('SELECT reputation FROM users WHERE id = $1', [author])).rows[0].reputation;
  const n = (await ctx.db.query('SELECT kind, count, cardinality(actors) AS actors FROM notifications WHERE post_id = $1 ORDER BY kind', [post])).rows;
  return { upvotes: p.upvotes, comments: p.comment_count, reputation: r, notifications: n };
}

describe('background effects', () => {
  it('counts an upvote once however often its change is delivered', async () => {
    const a = await newUser();
    const b = await newUser();
    const post = await newPost(a);
    const c = await upvote(post, b);
    ctx.broadcasts.length = 0;
    await deliver('d-up-1', c);
    const once = await state(post, a);
    expect(once).toEqual({ upvotes: 1, comments: 0, reputation: 11, notifications: [{ kind: 'upvote', count: 1, actors: 1 }] });
    expect(ctx.broadcasts.map((b) => b.message)).toEqual([
      { kind: 'post', id: post, upvotes: 1, comments: 0 },
      expect.objectContaining({ kind: 'notification', userId: a, notification: expect.objectContaining({ message: 'u2 upvoted your post', count: 1 }) }),
    ]);
    await deliver('d-up-1', c);
    await deliver('d-up-1', c);
    expect(await state(post, a)).toEqual(once);
    expect(ctx.broadcasts).toHaveLength(2);
  });

  it('aggregates many upvoters into one notification and ignores self-upvotes', async () => {
    const a = await newUser();
    const post = await newPost(a);
    await deliver(`self-${post}`, await upvote(post, a));
    for (let i = 0; i < 12; i++) await deliver(`agg-${post}-${i}`, await upvote(post, await newUser()));
    const s = await state(post, a);
    expect(s).toMatchObject({ upvotes: 13, notifications: [{ kind: 'upvote', count: 12, actors: 12 }] });
    const last = ctx.broadcasts.at(-1)!.message as { notification: { message: string } };
    expect(last.notification.message).toBe('12 people upvoted your post');
  });

  it('keeps counters right when deliveries of one post are handled concurrently', async () => {
    const a = await newUser();
    const post = await newPost(a);
    const changes = [];
    for (let i = 0; i < 20; i++) changes.push(await upvote(post, await newUser()));
    await Promise.all(changes.map((c, i) => deliver(`conc-${post}-${i}`, c)));
    expect(await state(post, a)).toMatchObject({ upvotes: 20, reputation: 201, notifications: [{ kind: 'upvote', count: 20 }] });
  });

  it('counts comments, recounts on a withdrawn upvote, and credits authors for posts', async () => {
    const a = await newUser();
    const b = await newUser();
    const post = await newPost(a);
    await deliver(`post-${post}`, change('posts', 'insert', { id: post, author_id: a, title: 'p' }));
    expect((await state(post, a)).reputation).toBe(1);
    const up = await upvote(post, b);
    await deliver(`u-${post}`, up);
    const { rows } = await ctx.db.query(`INSERT INTO comments (post_id, author_id, body) VALUES ($1, $2, 'hi') RETURNING id, post_id, author_id, created_at`, [post, b]);
    await deliver(`c-${post}`, change('comments', 'insert', rows[0]));
    await deliver(`c-${post}`, change('comments', 'insert', rows[0]));
    expect(await state(post, a)).toEqual({
      upvotes: 1, comments: 1, reputation: 13,
      notifications: [{ kind: 'comment', count: 1, actors: 1 }, { kind: 'upvote', count: 1, actors: 1 }],
    });
    await ctx.db.query('DELETE FROM upvotes WHERE post_id = $1 AND user_id = $2', [post, b]);
    await deliver(`ud-${post}`, change('upvotes', 'delete', { post_id: post, user_id: b }));
    expect(await state(post, a)).toMatchObject({ upvotes: 0, comments: 1, reputation: 3 });
  });

  it('updates counters but notifies nobody for backdated activity (seeds, backfills)', async () => {
    const a = await newUser();
    const post = await newPost(a);
    const b = await newUser();
    const { rows } = await ctx.db.query(`INSERT INTO upvotes (post_id, user_id, created_at) VALUES ($1, $2, now() - interval '3 days') RETURNING *`, [post, b]);
    await deliver(`old-${post}`, change('upvotes', 'insert', rows[0]));
    expect(await state(post, a)).toMatchObject({ upvotes: 1, notifications: [] });
  });

  it('skips a change for a post that no longer exists', async () => {
    const a = await newUser();
    const post = await newPost(a);
    const c = await upvote(post, await newUser());
    await ctx.db.query('DELETE FROM posts WHERE id = $1', [post]);
    await expect(deliver(`gone-${post}`, c)).resolves.toBeUndefined();
  });
});
