// Baseline for the `api` scenario: a bare Fastify route running the same two queries as the
// service's GET /feed (token → user, then the feed), same pool size, no toolkit, no schemas.
// Run as `node --import tsx bare-feed.ts` with DATABASE_URL and PORT; prints "listening <port>".
import Fastify from 'fastify';
import pg from 'pg';
import { feed } from '../../../services/app-api/src/domain/posts.js';
import { bearer, principalFor } from '../../../services/app-api/src/domain/sessions.js';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on('error', () => {});
const app = Fastify();
app.get('/feed', async (req, reply) => {
  const me = await principalFor(pool, bearer(req.headers.authorization));
  if (!me) return reply.code(401).send({ error: { code: 'unauthorized', message: 'no' } });
  return feed(pool, me.id, { limit: 20 });
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
console.log(`listening ${process.env.PORT}`);
const stop = () => { void app.close().then(() => pool.end()).then(() => process.exit(0)); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
