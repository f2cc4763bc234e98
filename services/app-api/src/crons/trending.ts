// The trending cron: scores last week's posts by engagement decayed with age (a gravity formula).
import { task } from 'archipelago-toolkit';

export const TRENDING_SQL = `
  WITH scored AS (
    SELECT id, (upvotes + 2 * comment_count)::float8 / power(extract(epoch FROM now() - created_at) / 3600 + 2, 1.5) AS score
      FROM posts WHERE created_at > now() - interval '7 days')
  UPDATE posts p SET trending_score = s.score FROM scored s
   WHERE p.id = s.id AND p.trending_score IS DISTINCT FROM s.score`;
// Posts leaving the window drop out of the partial index.
export const EXPIRE_SQL = `UPDATE posts SET trending_score = 0 WHERE trending_score > 0 AND created_at <= now() - interval '7 days'`;

export default task(async (ctx) => {
  const scored = await ctx.db.query(TRENDING_SQL);
  const expired = await ctx.db.query(EXPIRE_SQL);
  ctx.logger.info({ scored: scored.rowCount, expired: expired.rowCount }, 'trending scores updated');
});
