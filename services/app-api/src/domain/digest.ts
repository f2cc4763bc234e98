// The weekly digest: who gets one this week, what is in it, and sending it at most once.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Queryable } from 'archipelago-toolkit';
import { mailProblem, type Mail } from './mime.js';
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

/** Best first: upvotes, then comments, then the newer post (ids are below 2^53 and grow). */
const byRank = (a: DigestPost, b: DigestPost) => b.upvotes - a.upvotes || b.comments - a.comments || Number(b.id) - Number(a.id);

/**
 * The best posts of the week in the given tags, ranked, per process: every batch of a run asks for
 * (nearly always) the same tags, and ranking them is the one expensive query of the digest
 * (hundreds of ms on 175,000 posts). Cached for a minute per tag set, unless `now` is given (then
 * computed for that instant).
 */
const candidateCache = new Map<string, { at: number; ranked: Promise<DigestPost[]> }>();

function rankedCandidates(db: Queryable, tags: readonly string[], now: Date | undefined): Promise<DigestPost[]> {
  if (tags.length === 0) return Promise.resolve([]);
  const load = (at: Date) => db.query<DigestPost>(CANDIDATES_SQL, [tags, at, PER_TAG]).then((r) => r.rows.sort(byRank));
  if (now) return load(now);
  const key = [...tags].sort().join('\u0000');
  const hit = candidateCache.get(key);
  const at = Date.now();
  if (hit && at - hit.at < CANDIDATES_TTL_MS) return hit.ranked;
  const ranked = load(new Date(at));
  candidateCache.set(key, { at, ranked });
  // A failed query is not kept: the next batch asks again.
  ranked.catch(() => { if (candidateCache.get(key)?.ranked === ranked) candidateCache.delete(key); });
  return ranked;
}

/**
 * The week's top posts for each opted-in user of the batch, in their followed tags, excluding
 * their own and those they bookmarked. The ranked candidates are shared by the batches of a run
 * (see `rankedCandidates`); each batch costs one query, for its users and their bookmarks.
 */
export async function selectDigests(db: Queryable, userIds: readonly string[], opts: { limit: number; now?: Date }): Promise<Map<string, { user: Recipient; posts: DigestPost[] }>> {
  // Each user with their bookmarks, in one round trip.
  const rows = (await db.query<Recipient & { bookmarks: string[] }>({
    name: 'digest-recipients',
    text: `SELECT u.id::text, u.username, u.email, u.tags,
            coalesce((SELECT array_agg(b.post_id::text) FROM bookmarks b WHERE b.user_id = u.id), '{}') AS bookmarks
       FROM users u WHERE u.id = ANY($1::bigint[]) AND u.digest_opt_in`,
    values: [userIds],
  })).rows;
  const ranked = await rankedCandidates(db, [...new Set(rows.flatMap((u) => u.tags))], opts.now);
  const out = new Map<string, { user: Recipient; posts: DigestPost[] }>();
  for (const { bookmarks, ...user } of rows) {
    const follows = new Set(user.tags);
    const marked = bookmarks.length ? new Set(bookmarks) : undefined;
    const posts: DigestPost[] = [];
    for (const p of ranked) {
      if (posts.length >= opts.limit) break;
      if (p.authorId !== user.id && p.tags.some((t) => follows.has(t)) && !marked?.has(p.id)) posts.push(p);
    }
    out.set(user.id, { user, posts });
  }
  return out;
}

type PostView = DigestPost & { link: string; tagList: string };
/** A post as the templates show it, made once per post and app URL: the same posts fill most digests. */
const views = new WeakMap<DigestPost, { appUrl: string; view: PostView }>();
function view(p: DigestPost, appUrl: string): PostView {
  const hit = views.get(p);
  if (hit?.appUrl === appUrl) return hit.view;
  const v = { ...p, link: p.url ?? `${appUrl}/posts/${p.id}`, tagList: p.tags.map((t) => `#${t}`).join(' ') };
  views.set(p, { appUrl, view: v });
  return v;
}

export function renderDigest(user: Recipient, posts: readonly DigestPost[], week: string, appUrl: string): { subject: string; html: string; text: string } {
  const data = { username: user.username, week, settingsUrl: `${appUrl}/docs`, posts: posts.map((p) => view(p, appUrl)) };
  return { subject: `Your week ${week}: ${posts[0]?.title ?? 'top posts'}`, html: templates.html(data), text: templates.text(data) };
}

export type SendOutcome = 'sent' | 'empty' | 'skipped' | 'failed';

export interface SendOptions {
  from: string; appUrl: string; signal?: AbortSignal;
  /** Told of each user whose digest could not be built (also recorded in `digest_sends.error`). */
  onFailure?: (userId: string, reason: string) => void;
}

/** The digest's Message-ID: one per user and week, so a receiving system can spot a duplicate (the sent mark writes the same in SQL). */
export const digestMessageId = (userId: string, week: string): string => `digest-${week}-${userId}@app-api.localhost`;

/**
 * Sends each user's digest for `week` at most once. The (user, week) rows of the chunk are claimed
 * and committed in one statement before anything is sent, so a retry or a second replica finds
 * them and skips; once the transport took them, one `digest_chunks` row marks the chunk sent. A
 * failure known to happen before delivery releases the failing user's claim and those not yet
 * attempted (the retry sends them); an ambiguous failure marks the failing user `failed` — a missed
 * digest over a duplicate one. A crash between claim and mark leaves at most one chunk `sending`.
 */
export async function sendDigests(db: Queryable, transport: Transport, digests: readonly { user: Recipient; posts: DigestPost[] }[], week: string, opts: SendOptions): Promise<Record<SendOutcome, number>> {
  const counts: Record<SendOutcome, number> = { sent: 0, empty: 0, skipped: 0, failed: 0 };
  if (!digests.length) return counts;
  // Named statements: planned once per connection, not once per chunk. The claim answers with the
  // users it could not claim (usually none) in one row, rather than a row per claimed user.
  const chunk = randomUUID();
  const { rows: [claim] } = await db.query<{ skipped: string[] }>({
    name: 'digest-claim',
    text: `WITH claimed AS (
       INSERT INTO digest_sends (user_id, week, status, chunk)
       SELECT u.id, $2, CASE WHEN u.empty THEN 'empty' ELSE 'sending' END, $4 FROM unnest($1::bigint[], $3::boolean[]) AS u(id, empty)
       ON CONFLICT DO NOTHING RETURNING user_id)
     SELECT array(SELECT u.id::text FROM unnest($1::bigint[]) AS u(id) WHERE u.id NOT IN (SELECT user_id FROM claimed)) AS skipped`,
    values: [digests.map((d) => d.user.id), week, digests.map((d) => d.posts.length === 0), chunk],
  });
  const skipped = new Set(claim?.skipped ?? []);
  const toSend: { user: Recipient; posts: DigestPost[] }[] = [];
  const mails: Mail[] = [];
  const poisoned: { id: string; reason: string }[] = [];
  for (const d of digests) {
    if (skipped.has(d.user.id)) counts.skipped++;
    else if (!d.posts.length) counts.empty++;
    else {
      // Built one by one: data that cannot become a mail (an address with a line break, a render
      // that throws) fails its own user, never the chunk, so a retry does not burn the next user.
      try {
        const mail = buildMail(d, week, opts);
        const problem = mailProblem(mail);
        if (problem) throw new Error(problem);
        mails.push(mail);
        toSend.push(d);
      } catch (err) {
        poisoned.push({ id: d.user.id, reason: (err as Error)?.message ?? String(err) });
      }
    }
  }
  if (poisoned.length) {
    await db.query(`UPDATE digest_sends AS d SET status = 'failed', error = p.reason
      FROM unnest($1::bigint[], $3::text[]) AS p(id, reason) WHERE d.user_id = p.id AND d.week = $2`,
    [poisoned.map((p) => p.id), week, poisoned.map((p) => p.reason)]);
    counts.failed = poisoned.length;
    for (const p of poisoned) opts.onFailure?.(p.id, p.reason);
  }
  const mailbox = `digest-${week}`;
  const release = (users: readonly { user: Recipient }[]) => users.length === 0 ? undefined
    : db.query(`DELETE FROM digest_sends WHERE user_id = ANY($1::bigint[]) AND week = $2 AND status = 'sending'`, [users.map((d) => d.user.id), week]);
  // A chunk the transport failed part-way through marks its delivered users one by one. An upsert
  // rather than an UPDATE … FROM: the conflict check always goes through the primary key, where an
  // UPDATE planned while the table was nearly empty keeps scanning it as it grows.
  const markSent = (users: readonly { user: Recipient }[]) => users.length === 0 ? undefined
    : db.query({
      name: 'digest-mark-sent',
      text: `INSERT INTO digest_sends AS d (user_id, week, status, sent_at, message_id)
       SELECT m.id, $2, 'sent', now(), 'digest-' || $2 || '-' || m.id || '@app-api.localhost' FROM unnest($1::bigint[]) AS m(id)
       ON CONFLICT (user_id, week) DO UPDATE SET status = 'sent', sent_at = excluded.sent_at, message_id = excluded.message_id
        WHERE d.status = 'sending'`,
      values: [users.map((d) => d.user.id), week],
    });
  // The usual way: the whole chunk went, so one row says so for all its claims (digest_outcomes).
  const markChunkSent = () => db.query({ name: 'digest-mark-chunk', text: 'INSERT INTO digest_chunks (id, week) VALUES ($1, $2)', values: [chunk, week] });
  if (opts.signal?.aborted) {
    await release(toSend);
    throw new Error('shutting down; the batch is retried (users already sent are skipped)');
  }
  try {
    await transport.sendAll(mails, mailbox);
  } catch (err) {
    const delivered = err instanceof SendError ? err.delivered : 0;
    const before = err instanceof SendError && err.beforeDelivery;
    await markSent(toSend.slice(0, delivered));
    const failing = toSend[delivered];
    if (failing && !before) {
      await db.query(`UPDATE digest_sends SET status = 'failed', error = $3 WHERE user_id = $1 AND week = $2`,
        [failing.user.id, week, `the transport failed while sending, the mail may have been delivered: ${(err as Error)?.message ?? String(err)}`]);
    }
    await release(toSend.slice(before ? delivered : delivered + 1));
    throw err;
  }
  if (toSend.length) await markChunkSent();
  counts.sent = toSend.length;
  return counts;
}

function buildMail(d: { user: Recipient; posts: DigestPost[] }, week: string, opts: SendOptions): Mail {
  return {
    from: opts.from, to: `${d.user.username} <${d.user.email}>`, messageId: digestMessageId(d.user.id, week),
    headers: { 'X-Digest-Week': week }, ...renderDigest(d.user, d.posts, week, opts.appUrl),
  };
}

/**
 * The time zones due a digest now and not yet queued for their local ISO week: local time Monday
 * 08:00 or later (any time with `anyTime`), with opted-in users. Read only; `claimZone` marks.
 */
export async function dueZones(db: Queryable, opts: { now?: Date; anyTime?: boolean } = {}): Promise<{ zone: string; week: string }[]> {
  const { rows } = await db.query<{ zone: string; week: string }>(
    `SELECT z.time_zone AS zone, to_char($1::timestamptz AT TIME ZONE z.time_zone, 'IYYY-"W"IW') AS week
       FROM (SELECT DISTINCT time_zone FROM users WHERE digest_opt_in) z
      WHERE ($2 OR (extract(isodow FROM $1::timestamptz AT TIME ZONE z.time_zone) = 1
                    AND extract(hour FROM $1::timestamptz AT TIME ZONE z.time_zone) >= 8))
        AND NOT EXISTS (SELECT 1 FROM digest_zone_runs r
                         WHERE r.time_zone = z.time_zone AND r.week = to_char($1::timestamptz AT TIME ZONE z.time_zone, 'IYYY-"W"IW'))
      ORDER BY 1`, [opts.now ?? new Date(), opts.anyTime ?? false]);
  return rows;
}

/**
 * Marks `zone` as queued for `week` and returns its opted-in users, or nothing when another run
 * marked it first. The (zone, week) mark is what makes hourly runs (and overlapping ones) queue
 * each user once a week; a run missed at 08:00 is caught up by the next hourly one. Someone who
 * signs up or opts in after their zone was queued gets their first digest the week after.
 */
export async function claimZone(db: Queryable, zone: string, week: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `WITH marked AS (INSERT INTO digest_zone_runs (time_zone, week) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING time_zone)
     SELECT u.id::text FROM users u JOIN marked m ON m.time_zone = u.time_zone WHERE u.digest_opt_in ORDER BY u.id`, [zone, week]);
  return rows.map((r) => r.id);
}

/** Marks every due zone and returns its users: `dueZones` then `claimZone` for each. */
export async function dueUsers(db: Queryable, opts: { now?: Date; anyTime?: boolean } = {}): Promise<{ id: string; week: string }[]> {
  const out: { id: string; week: string }[] = [];
  for (const { zone, week } of await dueZones(db, opts)) for (const id of await claimZone(db, zone, week)) out.push({ id, week });
  return out;
}
