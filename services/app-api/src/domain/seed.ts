// Realistic generated data: users with followed tags and time zones, posts with skewed
// popularity, upvotes, comments and bookmarks. Rows are made server-side (INSERT … SELECT over
// generate_series, the faster option measured) or streamed with COPY; chunks report progress.
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { SEED_PASSWORD } from './demo-credentials.js';
import { hashPassword } from './passwords.js';

export const TAGS = ['javascript', 'typescript', 'node', 'postgres', 'rust', 'go', 'python', 'kubernetes', 'devops', 'security',
  'ai', 'ml', 'databases', 'web', 'css', 'react', 'vue', 'svelte', 'linux', 'networking', 'cloud', 'aws', 'testing', 'design',
  'career', 'startups', 'open-source', 'hardware', 'embedded', 'games', 'graphics', 'compilers', 'distributed', 'performance',
  'mobile', 'ios', 'android', 'data', 'privacy', 'history'];
export const ZONES = ['UTC', 'Europe/London', 'Europe/Paris', 'Europe/Berlin', 'America/New_York', 'America/Chicago',
  'America/Los_Angeles', 'America/Sao_Paulo', 'Asia/Tokyo', 'Asia/Kolkata', 'Asia/Singapore', 'Australia/Sydney', 'Africa/Lagos'];
const FIRST = ['ada', 'alan', 'grace', 'linus', 'barbara', 'ken', 'dennis', 'margaret', 'edsger', 'donald', 'radia', 'guido', 'brendan',
  'anders', 'sophie', 'yukihiro', 'bjarne', 'frances', 'john', 'katherine', 'tim', 'vint', 'hedy', 'shafi', 'leslie'];
const LAST = ['lovelace', 'turing', 'hopper', 'torvalds', 'liskov', 'thompson', 'ritchie', 'hamilton', 'dijkstra', 'knuth', 'perlman',
  'rossum', 'eich', 'hejlsberg', 'wilson', 'matsumoto', 'stroustrup', 'allen', 'mccarthy', 'johnson', 'lee', 'cerf', 'lamarr', 'goldwasser', 'lamport'];
const WORDS = ['Why', 'How', 'We', 'rewrote', 'scaled', 'debugged', 'a', 'the', 'our', 'tiny', 'fast', 'distributed', 'queue', 'database',
  'compiler', 'cache', 'in', 'with', 'without', 'lessons', 'from', 'building', 'shipping', 'one', 'million', 'requests', 'weekend',
  'migration', 'index', 'postmortem', 'of', 'for', 'beginners', 'deep', 'dive', 'into', 'myths', 'about', 'latency'];

export interface SeedCounts { users: number; posts: number; upvotes: number; comments: number; bookmarks: number }
export type Progress = (stage: keyof SeedCounts | 'counters', done: number, total: number) => void;

export function plan(users: number): SeedCounts {
  return { users, posts: Math.ceil(users / 2), upvotes: users * 5, comments: users, bookmarks: Math.ceil(users / 2) };
}

const arr = (xs: readonly string[]) => `ARRAY[${xs.map((x) => `'${x}'`).join(',')}]::text[]`;

/** Users `from`..`to` (1-based numbering within this seed run), made entirely by the server. */
async function usersSql(db: pg.ClientBase, run: string, from: number, to: number, hash: string): Promise<void> {
  await db.query(
    `INSERT INTO users (username, email, password_hash, tags, time_zone, digest_opt_in, created_at)
     SELECT f || '_' || l || '_' || $1 || i, f || '.' || l || '.' || $1 || i || '@example.com', $2,
            ARRAY(SELECT DISTINCT t[1 + floor(random() * cardinality(t))::int] FROM generate_series(1, 2 + (i % 4))),
            z[1 + (i % cardinality(z))], random() < 0.8, now() - random() * interval '365 days'
       FROM generate_series($3::int, $4::int) AS i,
            LATERAL (SELECT ${arr(FIRST)} AS fs, ${arr(LAST)} AS ls, ${arr(TAGS)} AS t, ${arr(ZONES)} AS z) k,
            LATERAL (SELECT fs[1 + (i % cardinality(fs))] AS f, ls[1 + ((i / cardinality(fs)) % cardinality(ls))] AS l) n`,
    [run, hash, from, to]);
}

/** The same users through COPY: rows made here, streamed as text. */
async function usersCopy(db: pg.ClientBase, run: string, from: number, to: number, hash: string): Promise<void> {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  function* rows() {
    for (let i = from; i <= to; i++) {
      const f = FIRST[i % FIRST.length]!;
      const l = LAST[Math.floor(i / FIRST.length) % LAST.length]!;
      const tags = [...new Set(Array.from({ length: 2 + (i % 4) }, () => pick(TAGS)))];
      yield `${f}_${l}_${run}${i}\t${f}.${l}.${run}${i}@example.com\t${hash}\t{${tags.join(',')}}\t${ZONES[i % ZONES.length]}\t${Math.random() < 0.8}\n`;
    }
  }
  const stream = db.query(copyFrom('COPY users (username, email, password_hash, tags, time_zone, digest_opt_in) FROM STDIN'));
  await pipeline(Readable.from(rows()), stream);
}

export interface SeedOptions { users: number; chunk?: number; method?: 'sql' | 'copy'; progress?: Progress; password?: string }

/**
 * Seeds `users` users and their activity. Ids of the users and posts this run made are the
 * newest ones, so a second run adds to the data set instead of colliding with it.
 */
export async function seed(db: pg.ClientBase, opts: SeedOptions): Promise<SeedCounts> {
  const counts = plan(opts.users);
  const chunk = opts.chunk ?? 25_000;
  const progress = opts.progress ?? (() => {});
  const run = Date.now().toString(36).slice(-5);
  const hash = await hashPassword(opts.password ?? SEED_PASSWORD);
  const makeUsers = opts.method === 'copy' ? usersCopy : usersSql;

  // Generated ids are in range by construction, so foreign-key triggers add nothing but time;
  // skipping them needs superuser rights (the embedded database has them), so it is best effort.
  await db.query(`SET session_replication_role = replica`).catch(() => {});
  const before = (await db.query<{ u: string; p: string }>(`SELECT coalesce(max(id), 0)::text AS u, (SELECT coalesce(max(id), 0) FROM posts)::text AS p FROM users`)).rows[0]!;
  const u0 = Number(before.u);
  for (let i = 1; i <= counts.users; i += chunk) {
    await makeUsers(db, run, i, Math.min(i + chunk - 1, counts.users), hash);
    progress('users', Math.min(i + chunk - 1, counts.users), counts.users);
  }
  const { rows: range } = await db.query<{ lo: string; hi: string }>(`SELECT min(id)::text AS lo, max(id)::text AS hi FROM users WHERE id > $1`, [u0]);
  const lo = Number(range[0]!.lo);
  const nu = Number(range[0]!.hi) - lo + 1;

  // Posts: authors skewed towards a prolific few, spread over the last 14 days.
  for (let i = 0; i < counts.posts; i += chunk) {
    const n = Math.min(chunk, counts.posts - i);
    await db.query(
      `INSERT INTO posts (author_id, title, url, body, tags, created_at)
       SELECT $1 + floor($2 * power(random(), 2))::bigint,
              initcap(array_to_string(ARRAY(SELECT w[1 + floor(random() * cardinality(w))::int] FROM generate_series(1, 4 + (g % 6))), ' ')),
              CASE WHEN g % 3 = 0 THEN NULL ELSE 'https://example.com/' || md5(g::text || random()::text) END,
              'Generated post body ' || g,
              ARRAY(SELECT DISTINCT t[1 + floor(random() * cardinality(t))::int] FROM generate_series(1, 1 + (g % 3))),
              now() - random() * interval '14 days'
         FROM generate_series(1, $3::int) AS g, LATERAL (SELECT ${arr(WORDS)} AS w, ${arr(TAGS)} AS t) k`, [lo, nu, n]);
    progress('posts', i + n, counts.posts);
  }
  const { rows: pr } = await db.query<{ lo: string; hi: string }>(`SELECT min(id)::text AS lo, max(id)::text AS hi FROM posts WHERE id > $1`, [before.p]);
  const plo = Number(pr[0]!.lo);
  const np = Number(pr[0]!.hi) - plo + 1;

  // Engagement: popular posts (low offsets) get most of it; duplicates are dropped.
  const engage = async (stage: 'upvotes' | 'comments' | 'bookmarks', sql: string) => {
    for (let i = 0; i < counts[stage]; i += chunk) {
      const n = Math.min(chunk, counts[stage] - i);
      await db.query(sql, [lo, nu, plo, np, n]);
      progress(stage, i + n, counts[stage]);
    }
  };
  const pairs = `SELECT $3 + floor($4 * power(random(), 3))::bigint AS post_id, $1 + floor($2 * random())::bigint AS user_id, g FROM generate_series(1, $5::int) g`;
  await engage('upvotes', `INSERT INTO upvotes (post_id, user_id, created_at) SELECT post_id, user_id, now() - random() * interval '7 days' FROM (${pairs}) x ON CONFLICT DO NOTHING`);
  await engage('comments', `INSERT INTO comments (post_id, author_id, body, created_at) SELECT post_id, user_id, 'Comment ' || g || ': ' || md5(g::text), now() - random() * interval '7 days' FROM (${pairs}) x`);
  await engage('bookmarks', `INSERT INTO bookmarks (user_id, post_id) SELECT user_id, post_id FROM (${pairs}) x ON CONFLICT DO NOTHING`);

  // Counters and reputation in one pass each (the background unit keeps them right afterwards).
  progress('counters', 0, 2);
  await db.query(`UPDATE posts p SET upvotes = c.n FROM (SELECT post_id, count(*) n FROM upvotes WHERE post_id >= $1 GROUP BY post_id) c WHERE p.id = c.post_id`, [plo]);
  await db.query(`UPDATE posts p SET comment_count = c.n FROM (SELECT post_id, count(*) n FROM comments WHERE post_id >= $1 GROUP BY post_id) c WHERE p.id = c.post_id`, [plo]);
  progress('counters', 1, 2);
  await db.query(`UPDATE users u SET reputation = r.s FROM (SELECT author_id, sum(10 * upvotes + 2 * comment_count + 1) s FROM posts GROUP BY author_id) r WHERE u.id = r.author_id AND u.reputation IS DISTINCT FROM r.s`);
  progress('counters', 2, 2);
  await db.query(`RESET session_replication_role`).catch(() => {});
  return counts;
}
