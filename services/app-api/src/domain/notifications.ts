// Notifications, aggregated per (recipient, post, kind, hour): one row counts the distinct actors.
import type { Queryable } from 'archipelago-toolkit';

export type NotificationKind = 'upvote' | 'comment';

export interface Notification {
  id: string; kind: NotificationKind; post: { id: string; title: string }; count: number;
  actors: { id: string; username: string }[]; message: string; read: boolean; updatedAt: string;
}

/** How long one aggregated notification keeps absorbing new activity. */
export const WINDOW = '1 hour';

export function describe(kind: NotificationKind, count: number, names: readonly string[]): string {
  const who = count === 1 ? (names[0] ?? 'someone') : `${count} people`;
  return kind === 'upvote' ? `${who} upvoted your post` : `${who} commented on your post`;
}

const SELECT = `SELECT n.id::text AS id, n.kind, n.post_id::text AS post_id, p.title, n.count, n.read_at, n.updated_at,
    coalesce((SELECT json_agg(json_build_object('id', u.id::text, 'username', u.username) ORDER BY x.ord DESC)
       FROM unnest(n.actors[greatest(cardinality(n.actors) - 2, 1):]) WITH ORDINALITY AS x(actor, ord)
       JOIN users u ON u.id = x.actor), '[]') AS actors
  FROM notifications n JOIN posts p ON p.id = n.post_id`;

function toNotification(r: any): Notification {
  return {
    id: r.id, kind: r.kind, post: { id: r.post_id, title: r.title }, count: r.count, actors: r.actors,
    message: describe(r.kind, r.count, r.actors.map((a: { username: string }) => a.username)),
    read: r.read_at !== null, updatedAt: r.updated_at.toISOString(),
  };
}

export async function getNotification(db: Queryable, id: string): Promise<Notification | undefined> {
  const { rows } = await db.query(`${SELECT} WHERE n.id = $1`, [id]);
  return rows[0] ? toNotification(rows[0]) : undefined;
}

export async function listNotifications(db: Queryable, userId: string, opts: { unread?: boolean; limit: number }): Promise<Notification[]> {
  const { rows } = await db.query(
    `${SELECT} WHERE n.user_id = $1 AND (NOT $2 OR n.read_at IS NULL) ORDER BY n.updated_at DESC, n.id DESC LIMIT $3`,
    [userId, opts.unread ?? false, opts.limit]);
  return rows.map(toNotification);
}

/** Marks the given notifications (or all) of `userId` read; others' ids are ignored. Returns how many. */
export async function markRead(db: Queryable, userId: string, ids: readonly string[] | 'all'): Promise<number> {
  const { rowCount } = ids === 'all'
    ? await db.query('UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL', [userId])
    : await db.query('UPDATE notifications SET read_at = now() WHERE user_id = $1 AND id = ANY($2::bigint[]) AND read_at IS NULL', [userId, ids]);
  return rowCount ?? 0;
}

/**
 * Folds one actor's activity into the recipient's notification for its window. An actor already
 * counted in the window is not counted again (un-upvote then upvote is still one person); new
 * activity makes a read notification unread again. Returns the notification id.
 */
export async function recordActivity(db: Queryable, a: { recipient: string; postId: string; kind: NotificationKind; actor: string; at: string }): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO notifications AS n (user_id, post_id, kind, window_start, count, actors, updated_at)
     VALUES ($1, $2, $3, date_bin(interval '${WINDOW}', $5::timestamptz, timestamptz '2000-01-01'), 1, ARRAY[$4::bigint], now())
     ON CONFLICT (user_id, post_id, kind, window_start) DO UPDATE SET
       count = n.count + CASE WHEN $4::bigint = ANY(n.actors) THEN 0 ELSE 1 END,
       actors = CASE WHEN $4::bigint = ANY(n.actors) THEN n.actors ELSE n.actors || $4::bigint END,
       read_at = CASE WHEN $4::bigint = ANY(n.actors) THEN n.read_at ELSE NULL END,
       updated_at = now()
     RETURNING id::text`, [a.recipient, a.postId, a.kind, a.actor, a.at]);
  return rows[0]!.id;
}
