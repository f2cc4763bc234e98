// What the background unit does with a row change: counters, reputation, notifications.
// Counters and reputation are recomputed from the rows (so order and replays do not matter);
// notifications are guarded by `processed_changes`, written in the same transaction as the effect.
import type { Queryable } from 'archipelago-toolkit';
import type { Change, LiveEvent } from '../topics.js';
import { getNotification, recordActivity } from './notifications.js';

/** Reputation: 10 per upvote and 2 per comment received, 1 per post written. */
export const REPUTATION_SQL = `coalesce((SELECT sum(10 * upvotes + 2 * comment_count + 1) FROM posts WHERE author_id = $1), 0)`;

/**
 * Activity older than this is not news: backfills and seeds (rows dated in the past) update
 * counters but notify nobody.
 */
export const NEWS_MS = 24 * 3600_000;

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : v instanceof Date ? v.toISOString() : String(v));
const rowOf = (c: Change) => (c.after ?? c.before ?? {}) as Record<string, unknown>;
const committedAt = (c: Change) => c.committedAt;

/** Claims a delivery; false when it was applied before. Must run inside the effect's transaction. */
export async function claimChange(tx: Queryable, deliveryId: string): Promise<boolean> {
  const { rowCount } = await tx.query('INSERT INTO processed_changes (id) VALUES ($1) ON CONFLICT DO NOTHING', [deliveryId]);
  return rowCount === 1;
}

/*
 * Row locks, in one order everywhere: a post, then its author's user row. Both are taken FOR NO KEY
 * UPDATE, the lock an UPDATE of non-key columns takes anyway: it does not conflict with the KEY SHARE
 * locks that foreign-key checks take. With FOR UPDATE, an author bookmarking their own post (the
 * insert's checks lock the user, then the post) deadlocked with this handler (post, then user).
 */

/** Recomputes a post's counters under its row lock; returns them with the author, or undefined if gone. */
export async function refreshPost(tx: Queryable, postId: string): Promise<{ authorId: string; upvotes: number; comments: number } | undefined> {
  // Lock first, count after: a second statement takes a fresh snapshot, so a concurrent handler
  // that committed while we waited is counted (a subquery in the same UPDATE would not see it).
  const locked = await tx.query<{ author_id: string }>('SELECT author_id::text FROM posts WHERE id = $1 FOR NO KEY UPDATE', [postId]);
  if (!locked.rows[0]) return undefined;
  const { rows } = await tx.query<{ upvotes: number; comment_count: number }>(
    `UPDATE posts SET upvotes = (SELECT count(*) FROM upvotes WHERE post_id = $1),
                      comment_count = (SELECT count(*) FROM comments WHERE post_id = $1)
      WHERE id = $1 RETURNING upvotes, comment_count`, [postId]);
  return { authorId: locked.rows[0].author_id, upvotes: rows[0]!.upvotes, comments: rows[0]!.comment_count };
}

export async function refreshReputation(tx: Queryable, userId: string): Promise<void> {
  await tx.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
  await tx.query(`UPDATE users SET reputation = ${REPUTATION_SQL} WHERE id = $1`, [userId]);
}

/**
 * Applies one change inside `tx`. Returns the live events to broadcast after commit, or null when
 * this delivery was already applied.
 */
export async function applyChange(tx: Queryable, deliveryId: string, change: Change): Promise<LiveEvent[] | null> {
  if (!(await claimChange(tx, deliveryId))) return null;
  const row = rowOf(change);
  const events: LiveEvent[] = [];
  if (change.table === 'posts') {
    const author = str(row.author_id);
    if (change.op !== 'update' && author) await refreshReputation(tx, author);
    return events;
  }
  const postId = str(row.post_id);
  const actor = str(change.table === 'upvotes' ? row.user_id : row.author_id);
  if (!postId || !actor || (change.table !== 'upvotes' && change.table !== 'comments')) return events;
  const post = await refreshPost(tx, postId);
  if (!post) return events;
  await refreshReputation(tx, post.authorId);
  events.push({ kind: 'post', id: postId, upvotes: post.upvotes, comments: post.comments });
  const at = str(row.created_at) ?? committedAt(change);
  if (change.op === 'insert' && actor !== post.authorId && Date.now() - Date.parse(at) < NEWS_MS) {
    const kind = change.table === 'upvotes' ? 'upvote' : 'comment';
    const id = await recordActivity(tx, { recipient: post.authorId, postId, kind, actor, at });
    const notification = await getNotification(tx, id);
    if (notification) events.push({ kind: 'notification', userId: post.authorId, notification: { ...notification } });
  }
  return events;
}
