// The weekly digest: who gets one this week, what is in it, and sending it at most once.
import { readFileSync } from 'node:fs';
import type { Queryable } from 'archipelago';
import { compile } from './template.js';
import { failedBeforeDelivery, type Transport } from './transport.js';

export interface DigestPost { id: string; title: string; url: string | null; author: string; authorId: string; upvotes: number; comments: number; tags: string[] }
export interface Recipient { id: string; username: string; email: string; tags: string[] }

/** Compiled once per process, at import. */
const templates = {
  html: compile(readFileSync(new URL('../templates/digest.html', import.meta.url), 'utf8'), { html: true }),
  text: compile(readFileSync(new URL('../templates/digest.txt', import.meta.url), 'utf8'), { html: false }),
};

/** How many of each tag's best posts of the week are candidates for a batch. */
const PER_TAG = 50;

/**
 * The week's top posts for each opted-in user of the batch, in their followed tags, excluding
 * their own and those they bookmarked. One candidate query per batch (best posts per tag) and
 * one bookmark query, not one ranking query per user.
 */
export async function selectDigests(db: Queryable, userIds: readonly string[], opts: { limit: number; now?: Date }): Promise<Map<string, { user: Recipient; posts: DigestPost[] }>> {
  const users = (await db.query<Recipient>(
    `SELECT id::text, username, email, tags FROM users WHERE id = ANY($1::bigint[]) AND digest_opt_in`, [userIds])).rows;
  const tags = [...new Set(users.flatMap((u) => u.tags))];
  const candidates = tags.length === 0 ? [] : (await db.query<DigestPost>(
    `SELECT DISTINCT ON (c.id) c.id::text, c.title, c.url, a.username AS author, c.author_id::text AS "authorId", c.upvotes, c.comment_count AS comments, c.tags
       FROM unnest($1::text[]) AS t(tag)
       CROSS JOIN LATERAL (
         SELECT p.* FROM posts p WHERE p.tags @> ARRAY[t.tag] AND p.created_at > $2::timestamptz - interval '7 days' AND p.created_at <= $2::timestamptz
          ORDER BY p.upvotes DESC, p.comment_count DESC, p.id DESC LIMIT $3) c
       JOIN users a ON a.id = c.author_id`, [tags, opts.now ?? new Date(), PER_TAG])).rows;
  const bookmarked = new Set((await db.query<{ k: string }>(
    `SELECT user_id || ':' || post_id AS k FROM bookmarks WHERE user_id = ANY($1::bigint[]) AND post_id = ANY($2::bigint[])`,
    [users.map((u) => u.id), candidates.map((c) => c.id)])).rows.map((r) => r.k));
  const ranked = candidates.sort((a, b) => b.upvotes - a.upvotes || b.comments - a.comments || Number(BigInt(b.id) - BigInt(a.id)));
  const out = new Map<string, { user: Recipient; posts: DigestPost[] }>();
  for (const user of users) {
    const follows = new Set(user.tags);
    const posts = ranked.filter((p) => p.authorId !== user.id && !bookmarked.has(`${user.id}:${p.id}`) && p.tags.some((t) => follows.has(t)));
    out.set(user.id, { user, posts: posts.slice(0, opts.limit) });
  }
  return out;
}

export function renderDigest(user: Recipient, posts: readonly DigestPost[], week: string, appUrl: string): { subject: string; html: string; text: string } {
  const data = {
    username: user.username, week, settingsUrl: `${appUrl}/docs`,
    posts: posts.map((p) => ({ ...p, link: p.url ?? `${appUrl}/posts/${p.id}`, tagList: p.tags.map((t) => `#${t}`).join(' ') })),
  };
  return { subject: `Your week ${week}: ${posts[0]?.title ?? 'top posts'}`, html: templates.html(data), text: templates.text(data) };
}

export type SendOutcome = 'sent' | 'empty' | 'skipped';

/**
 * Sends one user's digest for `week` at most once. The (user, week) row is claimed and committed
 * before anything is sent, so a retry or a second replica finds it and skips. A failure known to
 * happen before the server accepted the mail releases the claim (the retry sends); any other
 * failure marks it `failed` and it is not retried — a missed digest over a duplicate one.
 */
export async function sendDigest(db: Queryable, transport: Transport, d: { user: Recipient; posts: DigestPost[] }, week: string, opts: { from: string; appUrl: string }): Promise<SendOutcome> {
  const claim = await db.query(
    `INSERT INTO digest_sends (user_id, week, status, post_ids) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    [d.user.id, week, d.posts.length ? 'sending' : 'empty', d.posts.map((p) => p.id)]);
  if (claim.rowCount !== 1) return 'skipped';
  if (!d.posts.length) return 'empty';
  const mail = renderDigest(d.user, d.posts, week, opts.appUrl);
  try {
    const { messageId } = await transport.send({ from: opts.from, to: `${d.user.username} <${d.user.email}>`, ...mail, headers: { 'X-Digest-Week': week } }, `digest-${week}`);
    await db.query(`UPDATE digest_sends SET status = 'sent', sent_at = now(), message_id = $3 WHERE user_id = $1 AND week = $2`, [d.user.id, week, messageId]);
    return 'sent';
  } catch (err) {
    if (failedBeforeDelivery(err)) await db.query(`DELETE FROM digest_sends WHERE user_id = $1 AND week = $2 AND status = 'sending'`, [d.user.id, week]);
    else await db.query(`UPDATE digest_sends SET status = 'failed' WHERE user_id = $1 AND week = $2`, [d.user.id, week]);
    throw err;
  }
}

/**
 * Marks and returns the users due a digest now: opted in, local time Monday 08:00 or later, not
 * yet queued for their local ISO week. The mark is what makes hourly runs (and overlapping ones)
 * queue each user once a week; a run missed at 08:00 is caught up by the next hourly one.
 */
export async function dueUsers(db: Queryable, opts: { now?: Date; anyTime?: boolean } = {}): Promise<{ id: string; week: string }[]> {
  const { rows } = await db.query<{ id: string; week: string }>(
    `WITH due AS (
       SELECT id, to_char($1::timestamptz AT TIME ZONE time_zone, 'IYYY-"W"IW') AS week FROM users
        WHERE digest_opt_in AND ($2 OR (extract(isodow FROM $1::timestamptz AT TIME ZONE time_zone) = 1
                                    AND extract(hour FROM $1::timestamptz AT TIME ZONE time_zone) >= 8)))
     UPDATE users u SET digest_queued_week = due.week FROM due
      WHERE u.id = due.id AND u.digest_queued_week IS DISTINCT FROM due.week
     RETURNING u.id::text, due.week`, [opts.now ?? new Date(), opts.anyTime ?? false]);
  return rows;
}
