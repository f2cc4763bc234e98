// The seed generator: counts, consistency of the counters it writes, both insertion methods.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../src/domain/seed.js';
import { parseSeedArgs } from '../src/jobs/seed.js';
import { migratedDatabase } from './support/context.js';

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: await migratedDatabase() });
  await client.connect();
});
afterAll(async () => client?.end());

describe('seed', () => {
  it('parses --users', () => {
    expect(parseSeedArgs(['--users', '350_000'])).toEqual({ users: 350_000, method: 'sql' });
    expect(parseSeedArgs(['--users=20', '--copy'])).toEqual({ users: 20, method: 'copy' });
    expect(() => parseSeedArgs(['--users', 'many'])).toThrow(/--users/);
  });

  it('generates users, posts and engagement with consistent counters, twice without collisions', async () => {
    const stages = new Set<string>();
    await seed(client, { users: 300, chunk: 100, progress: (s) => stages.add(s) });
    await seed(client, { users: 200, chunk: 100, method: 'copy' });
    expect([...stages]).toEqual(['users', 'posts', 'upvotes', 'comments', 'bookmarks', 'counters']);
    const { rows } = await client.query(`SELECT
      (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM posts) AS posts,
      (SELECT count(*)::int FROM comments) AS comments, (SELECT count(*)::int FROM upvotes) AS upvotes,
      (SELECT count(*)::int FROM users WHERE cardinality(tags) = 0) AS untagged,
      (SELECT count(*)::int FROM posts p WHERE upvotes <> (SELECT count(*) FROM upvotes v WHERE v.post_id = p.id)) AS bad_upvotes,
      (SELECT count(*)::int FROM posts p WHERE comment_count <> (SELECT count(*) FROM comments c WHERE c.post_id = p.id)) AS bad_comments`);
    expect(rows[0]).toMatchObject({ users: 500, posts: 250, comments: 500, untagged: 0, bad_upvotes: 0, bad_comments: 0 });
    expect(rows[0].upvotes).toBeGreaterThan(1500);
    // Seeded accounts log in with the seed password.
    const { rows: u } = await client.query(`SELECT password_hash FROM users LIMIT 1`);
    expect(u[0].password_hash).toMatch(/^scrypt\$/);
  });
});
