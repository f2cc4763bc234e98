// Posts: creation, reading and the personalised feed with keyset pagination on (created_at, id).
import type { Queryable } from 'archipelago-toolkit';
import { ApiError, notFound } from './errors.js';
import { normaliseTags } from './users.js';

export interface Post {
  id: string; author: { id: string; username: string }; title: string; url: string | null; body: string;
  tags: string[]; upvotes: number; comments: number; createdAt: string; upvoted: boolean; bookmarked: boolean;
}

/** Columns for `Post`; `$1` must be the viewer's id (or null). Also exposes the cursor key. */
export const POST_COLUMNS = `p.id::text AS id, p.author_id::text AS author_id, a.username AS author_name, p.title, p.url, p.body,
  p.tags, p.upvotes, p.comment_count, p.created_at,
  to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_ts,
  EXISTS (SELECT 1 FROM upvotes v WHERE v.post_id = p.id AND v.user_id = $1) AS upvoted,
  EXISTS (SELECT 1 FROM bookmarks b WHERE b.post_id = p.id AND b.user_id = $1) AS bookmarked`;

export function toPost(r: any): Post {
  return {
    id: r.id, author: { id: r.author_id, username: r.author_name }, title: r.title, url: r.url, body: r.body, tags: r.tags,
    upvotes: r.upvotes, comments: r.comment_count, createdAt: r.created_at.toISOString(), upvoted: r.upvoted, bookmarked: r.bookmarked,
  };
}

export async function createPost(db: Queryable, authorId: string, input: { title: string; url?: string; body?: string; tags?: string[] }): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO posts (author_id, title, url, body, tags) VALUES ($1, $2, $3, $4, $5) RETURNING id::text`,
    [authorId, input.title, input.url ?? null, input.body ?? '', normaliseTags(input.tags ?? [])]);
  return rows[0]!.id;
}

export async function getPost(db: Queryable, id: string, viewer: string | null): Promise<Post> {
  const { rows } = await db.query(`SELECT ${POST_COLUMNS} FROM posts p JOIN users a ON a.id = p.author_id WHERE p.id = $2`, [viewer, id]);
  if (!rows[0]) throw notFound('post');
  return toPost(rows[0]);
}

export async function assertPostExists(db: Queryable, id: string): Promise<void> {
  const { rowCount } = await db.query('SELECT 1 FROM posts WHERE id = $1', [id]);
  if (!rowCount) throw notFound('post');
}

export function encodeCursor(ts: string, id: string): string {
  return Buffer.from(`${ts}|${id}`).toString('base64url');
}

/** The cursor's timestamp exactly as `encodeCursor` writes it (microseconds, UTC), years 1 to 9999. */
const CURSOR_TS = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
/** Ids are bigint: 18 digits always fit, 19 may not. */
const CURSOR_ID = /^[1-9]\d{0,17}$/;

/**
 * A cursor this API handed out, or a 400 naming the field. Checked to the letter, not with
 * `Date.parse` (which takes "1" or "Tuesday 12" that PostgreSQL refuses): the timestamp must be a
 * real calendar instant in the form we write, the id a bigint.
 */
export function decodeCursor(cursor: string): { ts: string; id: string } {
  const [ts, id, ...rest] = Buffer.from(cursor, 'base64url').toString().split('|');
  const valid = ts !== undefined && id !== undefined && rest.length === 0 && CURSOR_TS.test(ts) && CURSOR_ID.test(id)
    && new Date(Date.parse(ts)).toISOString().slice(0, 19) === ts.slice(0, 19);
  if (!valid) throw new ApiError(400, 'VALIDATION_FAILED', 'querystring.cursor is not a cursor this API handed out', 'querystring.cursor');
  return { ts, id };
}

export interface Page<T> { items: T[]; nextCursor: string | null }

/**
 * Newest posts in the viewer's followed tags (all posts when they follow none), `limit` at a time.
 * Keyset pagination: a page is stable while new posts arrive, and each page is an index walk.
 */
export async function feed(db: Queryable, viewer: string, opts: { cursor?: string; limit: number }): Promise<Page<Post>> {
  const after = opts.cursor ? decodeCursor(opts.cursor) : null;
  const { rows } = await db.query(
    `WITH me AS (SELECT tags FROM users WHERE id = $1)
     SELECT ${POST_COLUMNS} FROM posts p JOIN users a ON a.id = p.author_id, me
      WHERE (cardinality(me.tags) = 0 OR p.tags && me.tags)
        AND ($2::timestamptz IS NULL OR (p.created_at, p.id) < ($2::timestamptz, $3::bigint))
      ORDER BY p.created_at DESC, p.id DESC LIMIT $4`,
    [viewer, after?.ts ?? null, after?.id ?? null, opts.limit + 1]);
  const page = rows.slice(0, opts.limit);
  const last = page[page.length - 1];
  return { items: page.map(toPost), nextCursor: rows.length > opts.limit && last ? encodeCursor(last.cursor_ts, last.id) : null };
}
