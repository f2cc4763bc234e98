// Issue 14, finding 9: an author bookmarking their own post while the background worker applies an
// upvote of it. The worker's steps run by hand in one transaction, so the interleaving that
// deadlocked (bookmark: user then post; worker: post then user) happens every time, not by luck.
import { transaction } from 'archipelago-toolkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyChange, refreshPost, refreshReputation } from '../src/domain/effects.js';
import { apiHarness, type ApiHarness } from './support/api.js';

let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness({ AUTH_RATE_LIMIT: '1000' });
});
afterAll(() => h?.close());

/** Resolves once `done` settled or a backend waits on a lock while running `like`. */
async function settledOrWaiting(done: Promise<unknown>, like: string): Promise<void> {
  let settled = false;
  void done.finally(() => { settled = true; });
  for (let i = 0; i < 600 && !settled; i++) {
    const { rowCount } = await h.ctx.db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, [like]);
    if (rowCount) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!settled) throw new Error('neither finished nor waited on a lock');
}

describe('row lock order', () => {
  it("lets an author bookmark their own post while the worker holds it for an upvote's counters", async () => {
    const author = await h.user();
    const voter = await h.user();
    const post = (await h.call('POST', '/posts', { token: author.token, body: { title: 'mine' } })).body;
    expect((await h.call('POST', `/posts/${post.id}/upvote`, { token: voter.token })).status).toBe(201);

    let bookmark: Promise<{ status: number }> | undefined;
    await transaction(h.ctx.db, async (tx) => {
      // The worker's first step for an upvote: the post's counters, under the post's row lock.
      expect(await refreshPost(tx, post.id)).toMatchObject({ authorId: author.id, upvotes: 1 });
      bookmark = h.call('POST', `/posts/${post.id}/bookmark`, { token: author.token });
      await settledOrWaiting(bookmark, 'INSERT INTO bookmarks%');
      // Its second step: the author's reputation, under the author's row lock.
      await refreshReputation(tx, author.id);
    });
    expect((await bookmark!).status).toBe(201);
    const me = await h.call('GET', `/posts/${post.id}`, { token: author.token });
    expect(me.body).toMatchObject({ bookmarked: true, upvotes: 1 });
  });

  it('applies upvote changes concurrently with the author bookmarking and unbookmarking, with no failure', async () => {
    const author = await h.user();
    const post = (await h.call('POST', '/posts', { token: author.token, body: { title: 'busy' } })).body;
    const voters = await Promise.all(Array.from({ length: 10 }, () => h.user()));
    const statuses: number[] = [];
    const work: Promise<unknown>[] = [];
    voters.forEach((v, i) => {
      work.push((async () => {
        await h.ctx.db.query('INSERT INTO upvotes (post_id, user_id) VALUES ($1, $2)', [post.id, v.id]);
        const change = { table: 'upvotes', op: 'insert', after: { post_id: post.id, user_id: v.id, created_at: new Date().toISOString() }, lsn: '0/0', committedAt: new Date().toISOString(), xid: i } as never;
        await transaction(h.ctx.db, (tx) => applyChange(tx, `locks-${post.id}-${i}`, change));
      })());
      work.push(h.call(i % 2 ? 'DELETE' : 'POST', `/posts/${post.id}/bookmark`, { token: author.token }).then((r) => { statuses.push(r.status); }));
    });
    await Promise.all(work);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect((await h.call('GET', `/posts/${post.id}`)).body.upvotes).toBe(10);
  });
});
