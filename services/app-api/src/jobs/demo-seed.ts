// The demo-seed job (on deploy): on an empty database, a small data set and a `demo` account
// (password `demo-password`) so that `npm start` has something to show. Never touches a
// database that already has users.
import { migrate, task } from 'archipelago';
import { seed } from '../domain/seed.js';
import { signup } from '../domain/users.js';

export const DEMO_USERS = 200;

export default task(async (ctx) => {
  const url = ctx.config.DATABASE_URL ?? process.env.DATABASE_URL;
  // Deploy jobs may run in any order; migrating here too (idempotent, locked) removes the dependency.
  if (url) await migrate(url, ctx.service.migrationsDir);
  const client = await ctx.db.connect();
  try {
    // One demo seed even if two replicas of this job race: the lock serialises, the count decides.
    await client.query('SELECT pg_advisory_lock(7361002)');
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM users LIMIT 1) x');
    if (rows[0]!.n > 0) {
      ctx.logger.info('users exist; demo data not needed');
      return;
    }
    await signup(client, { username: 'demo', email: 'demo@example.com', password: 'demo-password', tags: ['typescript', 'postgres', 'node'] });
    const counts = await seed(client, { users: DEMO_USERS, chunk: 1000 });
    ctx.logger.info(counts, 'demo data seeded (login: demo / demo-password)');
  } finally {
    await client.query('SELECT pg_advisory_unlock(7361002)').catch(() => {});
    client.release();
  }
});
