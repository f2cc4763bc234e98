// The weekly-digest cron, run hourly: queues the users whose local time is Monday morning (see
// dueUsers) onto the `digest` topic in batches, marks and publishes in one transaction.
// `-- --all` (or DIGEST_ANY_TIME=1) ignores the local time, for demos and tests.
import { task, transaction, type UnitContext } from 'archipelago';
import { dueUsers } from '../domain/digest.js';
import { digest, type DigestBatch } from '../topics.js';

// 200 users a message: few enough round trips per user, and still a backlog of hundreds of
// messages for a large run, so the digest unit scales out on it.
export const BATCH_USERS = 200;
const PUBLISH_CHUNK = 500;

export function batches(due: readonly { id: string; week: string }[], size = BATCH_USERS): DigestBatch[] {
  const byWeek = new Map<string, string[]>();
  for (const u of due) {
    const ids = byWeek.get(u.week);
    if (ids) ids.push(u.id);
    else byWeek.set(u.week, [u.id]);
  }
  const out: DigestBatch[] = [];
  for (const [week, ids] of byWeek) for (let i = 0; i < ids.length; i += size) out.push({ week, userIds: ids.slice(i, i + size) });
  return out;
}

export async function queueDigests(ctx: UnitContext, opts: { anyTime?: boolean; now?: Date } = {}): Promise<{ users: number; batches: number }> {
  return transaction(ctx.db, async (tx) => {
    const due = await dueUsers(tx, opts);
    const all = batches(due);
    for (let i = 0; i < all.length; i += PUBLISH_CHUNK) await ctx.publishMany(digest, all.slice(i, i + PUBLISH_CHUNK), { tx });
    return { users: due.length, batches: all.length };
  });
}

export default task(async (ctx) => {
  const anyTime = ctx.args.includes('--all') || ctx.config.DIGEST_ANY_TIME === '1';
  const r = await queueDigests(ctx, { anyTime });
  ctx.logger.info(r, 'weekly digest queued');
}, { publishes: [digest] });
