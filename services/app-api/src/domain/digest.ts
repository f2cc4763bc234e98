// The weekly digest: who gets one this week, what is in it, and sending it at most once.
import { readFileSync } from 'node:fs';
import type { Queryable } from 'archipelago';
import { compile } from './template.js';
import { SendError, type Transport } from './transport.js';

export interface DigestPost { id: string; title: string; url: string | null; author: string; authorId: string; upvotes: number; comments: number; tags: string[] }
export interface Recipient { id: string; username: string; email: string; tags: string[] }

/** Compiled once per process, at import. */
const templates = {
  html: compile(readFileSync(new URL('../templates/digest.html', import.meta.url), 'utf8'), { html: true }),
  text: compile(readFileSync(new URL('../templates/digest.txt', import.meta.url), 'utf8'), { html: false }),
};

/** How many of each tag's best posts of the week are candidates. */
const PER_TAG = 50;
/** How long a process reuses a tag's candidates: a digest run takes seconds to minutes. */
const CANDIDATES_TTL_MS = 60_000;

const CANDIDATES_SQL = `SELECT DISTINCT ON (c.id) c.id::text, c.title, c.url, a.username AS author, c.author_id::text AS "authorId", c.upvotes, c.comment_count AS comments, c.tags
     FROM unnest($1::text[]) AS t(tag)
     CROSS JOIN LATERAL (
       SELECT p.* FROM posts p WHERE p.tags @> ARRAY[t.tag] AND p.created_at > $2::timestamptz - interval '7 days' AND p.created_at <= $2::timestamptz
        ORDER BY p.upvotes DESC, p.comment_count DESC, p.id DESC LIMIT $3) c
     JOIN users a ON a.id = c.author_id`;

/**
 * Each tag's best posts of the week, per process: every batch of a run asks for the same tags, and
 * ranking them is the one expensive query of the digest (hundreds of ms on 175,000 posts). Cached
 * for a minute unless `now` is given (then computed for that instant).
 */
const candidateCache = new Map<string, { at: number; posts: Promise<DigestPost[]> }>();

async function candidates(db: Queryable, tags: readonly string[], now: Date | undefined): Promise<DigestPost[]> {
  if (tags.length === 0) return [];
  if (now) return (await db.query<DigestPost>(CANDIDATES_SQL, [tags, now, PER_TAG])).rows;
  const at = Date.now();
  const missing = tags.filter((t) => !(at - (candidateCache.get(t)?.at ?? -Infinity) < CANDIDATES_TTL_MS));
  if (missing.length) {
    const all = db.query<DigestPost>(CANDIDATES_SQL, [missing, new Date(at), PER_TAG]).then((r) => r.rows);
    // A failed query is not cached: the next batch asks again.
    all.catch(() => { for (const t of missing) if (candidateCache.get(t)?.at === at) candidateCache.delete(t); });
    for (const t of missing) candidateCache.set(t, { at, posts: all.then((rows) => rows.filter((p) => p.tags.includes(t))) });
  }
  const seen = new Set<string>();
  const out: DigestPost[] = [];
  for (const list of await Promise.all(tags.map((t) => candidateCache.get(t)!.posts))) {
    for (const p of list) if (!seen.has(p.id)) { seen.add(p.id); out.push(p); }
  }
  return out;
}

/**
 * The week's top posts for each opted-in user of the batch, in their followed tags, excluding
 * their own and those they bookmarked. The per-tag candidates are shared by the batches of a run
 * (see `candidates`); each batch costs one user query and one bookmark query.
 */
export async function selectDigests(db: Queryable, userIds: readonly string[], opts: { limit: number; now?: Date }): Promise<Map<string, { user: Recipient; posts: DigestPost[] }>> {
  const users = (await db.query<Recipient>(
    `SELECT id::text, username, email, tags FROM users WHERE id = ANY($1::bigint[]) AND digest_opt_in`, [userIds])).rows;
  const pool = await candidates(db, [...new Set(users.flatMap((u) => u.tags))], opts.now);
  const bookmarked = new Set((await db.query<{ k: string }>(
    `SELECT user_id || ':' || post_id AS k FROM bookmarks WHERE user_id = ANY($1::bigint[]) AND post_id = ANY($2::bigint[])`,
    [users.map((u) => u.id), pool.map((c) => c.id)])).rows.map((r) => r.k));
  const ranked = [...pool].sort((a, b) => b.upvotes - a.upvotes || b.comments - a.comments || Number(BigInt(b.id) - BigInt(a.id)));
  const out = new Map<string, { user: Recipient; posts: DigestPost[] }>();
  for (const user of users) {
    const follows = new Set(user.tags);
    const posts: DigestPost[] = [];
    for (const p of ranked) {
      if (posts.length >= opts.limit) break;
      if (p.authorId !== user.id && p.tags.some((t) => follows.has(t)) && !bookmarked.has(`${user.id}:${p.id}`)) posts.push(p);
    }
    out.set(user.id, { user, posts });
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

export interface SendOptions { from: string; appUrl: string; signal?: AbortSignal }

/** The digest's Message-ID: one per user and week, so a receiving system can spot a duplicate. */
export const digestMessageId = (userId: string, week: string): string => `digest-${week}-${userId}@app-api.localhost`;

/**
 * Sends each user's digest for `week` at most once. The (user, week) rows of the chunk are claimed
 * and committed in one statement before anything is sent, so a retry or a second replica finds
 * them and skips; the sent ones are marked in one statement after the transport took them. A
 * failure known to happen before delivery releases the failing user's claim and those not yet
 * attempted (the retry sends them); an ambiguous failure marks the failing user `failed` — a missed
 * digest over a duplicate one. A crash between claim and mark leaves at most one chunk `sending`.
 */
export async function sendDigests(db: Queryable, transport: Transport, digests: readonly { user: Recipient; posts: DigestPost[] }[], week: string, opts: SendOptions): Promise<Record<SendOutcome, number>> {
  const counts: Record<SendOutcome, number> = { sent: 0, empty: 0, skipped: 0 };
  if (!digests.length) return counts;
  const { rows } = await db.query<{ user_id: string }>(
    `INSERT INTO digest_sends (user_id, week, status, post_ids)
     SELECT u.id, $2, CASE WHEN u.posts = '' THEN 'empty' ELSE 'sending' END, string_to_array(u.posts, ',')::bigint[]
       FROM unnest($1::bigint[], $3::text[]) AS u(id, posts)
     ON CONFLICT DO NOTHING RETURNING user_id::text`,
    [digests.map((d) => d.user.id), week, digests.map((d) => d.posts.map((p) => p.id).join(','))]);
  const claimed = new Set(rows.map((r) => r.user_id));
  const toSend: { user: Recipient; posts: DigestPost[] }[] = [];
  for (const d of digests) {
    if (!claimed.has(d.user.id)) counts.skipped++;
    else if (!d.posts.length) counts.empty++;
    else toSend.push(d);
  }
  const mailbox = `digest-${week}`;
  const release = (users: readonly { user: Recipient }[]) => users.length === 0 ? undefined
    : db.query(`DELETE FROM digest_sends WHERE user_id = ANY($1::bigint[]) AND week = $2 AND status = 'sending'`, [users.map((d) => d.user.id), week]);
  const markSent = (users: readonly { user: Recipient }[]) => users.length === 0 ? undefined
    : db.query(
      `UPDATE digest_sends d SET status = 'sent', sent_at = now(), message_id = m.mid FROM unnest($1::bigint[], $3::text[]) AS m(id, mid)
        WHERE d.user_id = m.id AND d.week = $2 AND d.status = 'sending'`,
      [users.map((d) => d.user.id), week, users.map((d) => digestMessageId(d.user.id, week))]);
  if (opts.signal?.aborted) {
    await release(toSend);
    throw new Error('shutting down; the batch is retried (users already sent are skipped)');
  }
  const mails = toSend.map((d) => ({
    from: opts.from, to: `${d.user.username} <${d.user.email}>`, messageId: digestMessageId(d.user.id, week),
    headers: { 'X-Digest-Week': week }, ...renderDigest(d.user, d.posts, week, opts.appUrl),
  }));
  try {
    await transport.sendAll(mails, mailbox);
  } catch (err) {
    const delivered = err instanceof SendError ? err.delivered : 0;
    const before = err instanceof SendError && err.beforeDelivery;
    await markSent(toSend.slice(0, delivered));
    const failing = toSend[delivered];
    if (failing && !before) await db.query(`UPDATE digest_sends SET status = 'failed' WHERE user_id = $1 AND week = $2`, [failing.user.id, week]);
    await release(toSend.slice(before ? delivered : delivered + 1));
    throw err;
  }
  await markSent(toSend);
  counts.sent = toSend.length;
  return counts;
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
