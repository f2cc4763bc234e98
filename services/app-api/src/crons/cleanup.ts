// The cleanup cron: deletes read notifications after 30 days, any after 90, expired sessions and
// old processed-change keys (redeliveries come within minutes, not weeks), digest sends after 90
// days or once their user is gone, and the chunk marks of those sends.
import { task } from 'archipelago-toolkit';

export const CLEANUP = [
  ['notifications', `DELETE FROM notifications WHERE (read_at IS NOT NULL AND updated_at < now() - interval '30 days') OR updated_at < now() - interval '90 days'`],
  ['sessions', `DELETE FROM sessions WHERE expires_at < now()`],
  ['processed_changes', `DELETE FROM processed_changes WHERE processed_at < now() - interval '14 days'`],
  ['rate_limits', `DELETE FROM rate_limits WHERE window_ends < now() - interval '1 hour'`],
  ['digest_sends', `DELETE FROM digest_sends d WHERE d.claimed_at < now() - interval '90 days' OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = d.user_id)`],
  // A chunk is marked after its claims, so its claims are always gone first.
  ['digest_chunks', `DELETE FROM digest_chunks WHERE sent_at < now() - interval '90 days'`],
] as const;

export default task(async (ctx) => {
  for (const [what, sql] of CLEANUP) {
    const { rowCount } = await ctx.db.query(sql);
    ctx.logger.info({ table: what, deleted: rowCount }, 'cleaned up');
  }
});
