// Upvotes, comments and bookmarks: each row belongs to the user who made it.
import type { Queryable } from 'archipelago-toolkit';
import { notFound } from './errors.js';
import { assertPostExists, encodeCursor, decodeCursor, POST_COLUMNS, toPost, type Page, type Post } from './posts.js';

/** True when a new upvote was recorded (false when it already existed). */
export async function upvote(db: Queryable, userId: string, postId: string): Promise<boolean> {
  await assertPostExists(db, postId);
  const { rowCount } = await db.query('INSERT INTO upvotes (post_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [postId, userId]);
  return rowCount === 1;
}

export async function removeUpvote(db: Queryable, userId: string, postId: string): Promise<void> {
  await assertPostExists(db, postId);
  const { rowCount } = await db.query('DELETE FROM upvotes WHERE post_id = $1 AND user_id = $2', [postId, userId]);
  if (!rowCount) throw notFound('upvote');
}

export interface Comment { id: string; postId: string; author: { id: string; username: string }; body: string; createdAt: string }

const COMMENT_COLUMNS = `c.id::text AS id, c.post_id::text AS post_id, c.author_id::text AS author_id, u.username, c.body, c.created_at,
  to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_ts`;
const toComment = (r: any): Comment => ({
  id: r.id, postId: r.post_id, author: { id: r.author_id, username: r.username }, body: r.body, createdAt: r.created_at.toISOString(),
});

export async function addComment(db: Queryable, userId: string, postId: string, body: string): Promise<Comment> {
  await assertPostExists(db, postId);
  const { rows } = await db.query(
    `WITH c AS (INSERT INTO comments (post_id, author_id, body) VALUES ($1, $2, $3) RETURNING *)
     SELECT ${COMMENT_COLUMNS} FROM c JOIN users u ON u.id = c.author_id`, [postId, userId, body]);
  return toComment(rows[0]);
}

/** Oldest first, as a conversation reads. */
export async function listComments(db: Queryable, postId: string, opts: { cursor?: string; limit: number }): Promise<Page<Comment>> {
  await assertPostExists(db, postId);
  const after = opts.cursor ? decodeCursor(opts.cursor) : null;
  const { rows } = await db.query(
    `SELECT ${COMMENT_COLUMNS} FROM comments c JOIN users u ON u.id = c.author_id
      WHERE c.post_id = $1 AND ($2::timestamptz IS NULL OR (c.created_at, c.id) > ($2::timestamptz, $3::bigint))
      ORDER BY c.created_at, c.id LIMIT $4`, [postId, after?.ts ?? null, after?.id ?? null, opts.limit + 1]);
  const page = rows.slice(0, opts.limit);
  const last = page[page.length - 1];
  return { items: page.map(toComment), nextCursor: rows.length > opts.limit && last ? encodeCursor(last.cursor_ts, last.id) : null };
}

export async function bookmark(db: Queryable, userId: string, postId: string): Promise<boolean> {
  await assertPostExists(db, postId);
  const { rowCount } = await db.query('INSERT INTO bookmarks (user_id, post_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, postId]);
  return rowCount === 1;
}

export async function removeBookmark(db: Queryable, userId: string, postId: string): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM bookmarks WHERE user_id = $1 AND post_id = $2', [userId, postId]);
  if (!rowCount) throw notFound('bookmark');
}

export async function listBookmarks(db: Queryable, userId: string, opts: { cursor?: string; limit: number }): Promise<Page<Post>> {
  const after = opts.cursor ? decodeCursor(opts.cursor) : null;
  const { rows } = await db.query(
    `SELECT ${POST_COLUMNS}, to_char(bm.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS bm_ts
       FROM bookmarks bm JOIN posts p ON p.id = bm.post_id JOIN users a ON a.id = p.author_id
      WHERE bm.user_id = $1 AND ($2::timestamptz IS NULL OR (bm.created_at, bm.post_id) < ($2::timestamptz, $3::bigint))
      ORDER BY bm.created_at DESC, bm.post_id DESC LIMIT $4`, [userId, after?.ts ?? null, after?.id ?? null, opts.limit + 1]);
  const page = rows.slice(0, opts.limit);
  const last = page[page.length - 1];
  return { items: page.map(toPost), nextCursor: rows.length > opts.limit && last ? encodeCursor(last.bm_ts, last.id) : null };
}
