// The demo-seed job (on deploy, local only): on an empty database, a small data set and a `demo`
// account with a known password, so that `npm start` has something to show. Never touches a
// database that already has users, and never exists outside `archipelago up` (`localOnly`).
import { advisoryLockKey, migrate, task } from 'archipelago-toolkit';
import { DEMO_LOGIN, DEMO_PASSWORD } from '../domain/demo-credentials.js';
import { seed } from '../domain/seed.js';
import { signup } from '../domain/users.js';

export const DEMO_USERS = 200;
/** Serialises racing demo seeds, and nothing else. */
export const DEMO_SEED_LOCK = advisoryLockKey('app-api.demo-seed');

/** Copy-paste examples for the freshly seeded service, with its real ports. */
export function examples(units: readonly { kind: string; port?: number }[]): string {
  const api = `http://localhost:${units.find((u) => u.kind === 'api')?.port ?? 3000}`;
  const live = `ws://localhost:${units.find((u) => u.kind === 'realtime')?.port ?? 3001}/live`;
  return `
  app-api demo data is ready. API ${api} · docs ${api}/docs · WebSocket ${live}

  TOKEN=$(curl -s ${api}/auth/login -H 'content-type: application/json' -d '{"login":"${DEMO_LOGIN}","password":"${DEMO_PASSWORD}"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')
  curl -s "${api}/feed?limit=5" -H "authorization: Bearer $TOKEN"
  curl -s -X POST ${api}/posts/1/upvote -H "authorization: Bearer $TOKEN"
  node -e 'const ws = new (require("ws"))(process.argv[1] + "?token=" + process.argv[2]); ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", post: "1" }))); ws.on("message", (m) => console.log(String(m)))' ${live} "$TOKEN"

`;
}

export default task(async (ctx) => {
  const url = ctx.config.DATABASE_URL ?? process.env.DATABASE_URL;
  // Deploy jobs may run in any order; migrating here too (idempotent, locked) removes the dependency.
  if (url) await migrate(url, ctx.service.migrationsDir);
  const client = await ctx.db.connect();
  try {
    // One demo seed even if two replicas of this job race: the lock serialises, the count decides.
    await client.query('SELECT pg_advisory_lock($1::bigint)', [DEMO_SEED_LOCK]);
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM users LIMIT 1) x');
    if (rows[0]!.n > 0) {
      ctx.logger.info('users exist; demo data not needed');
      return;
    }
    await signup(client, { username: DEMO_LOGIN, email: 'demo@example.com', password: DEMO_PASSWORD, tags: ['typescript', 'postgres', 'node'] });
    const counts = await seed(client, { users: DEMO_USERS, chunk: 1000 });
    ctx.logger.info(counts, `demo data seeded (login: ${DEMO_LOGIN} / ${DEMO_PASSWORD})`);
    process.stderr.write(examples(ctx.service.units));
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [DEMO_SEED_LOCK]).catch(() => {});
    client.release();
  }
});
