import path from 'node:path';
import pg from 'pg';
import { startTestDatabase } from 'archipelago-toolkit/testing';
import { seed } from '../src/domain/seed.js';

const users = Number(process.argv[2] ?? 350000);
for (const method of (process.argv[3] ? [process.argv[3]] : ['copy', 'sql']) as ('copy' | 'sql')[]) {
  // A database of its own per method, on an embedded PostgreSQL (or TEST_DATABASE_URL's server).
  const db = await startTestDatabase({ migrations: path.resolve('migrations') });
  try {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const t0 = performance.now();
    const stages: Record<string, number> = {};
    let last = t0;
    let lastStage = '';
    await seed(c, { users, method, progress: (stage, done, total) => {
      if (stage !== lastStage) { lastStage = stage; }
      if (done === total) { const now = performance.now(); stages[stage] = Math.round(now - last); last = now; }
    } });
    console.log(method, users, 'total ms', Math.round(performance.now() - t0), JSON.stringify(stages));
    const r = await c.query('SELECT (SELECT count(*) FROM users) u, (SELECT count(*) FROM posts) p, (SELECT count(*) FROM upvotes) v, (SELECT count(*) FROM comments) c');
    console.log(r.rows[0]);
    await c.end();
  } finally { await db.close(); }
}
