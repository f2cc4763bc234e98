// The weekly-digest cron, run hourly: queues the users whose local time is Monday morning (see
// dueZones and claimZone) onto the `digest` topic in batches, one transaction per time zone.
// `-- --all` (or DIGEST_ANY_TIME=1) ignores the local time, for demos and tests.
import { task, transaction, type UnitContext } from 'archipelago-toolkit';
import { claimZone, dueZones } from '../domain/digest.js';
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

/**
 * One transaction per due time zone: the zone's mark and its batches commit together, so a failed
 * publish leaves the zone unmarked for the next run, and the first zone's batches reach the digest
 * unit while the next zone is still being queued.
 */
export async function queueDigests(ctx: UnitContext, opts: { anyTime?: boolean; now?: Date } = {}): Promise<{ users: number; batches: number; zones: number }> {
  const total = { users: 0, batches: 0, zones: 0 };
  for (const { zone, week } of await dueZones(ctx.db, opts)) {
    await transaction(ctx.db, async (tx) => {
      const ids = await claimZone(tx, zone, week);
      const all = batches(ids.map((id) => ({ id, week })));
      for (let i = 0; i < all.length; i += PUBLISH_CHUNK) await ctx.publishMany(digest, all.slice(i, i + PUBLISH_CHUNK), { tx });
      total.users += ids.length;
      total.batches += all.length;
      if (ids.length) total.zones++;
    });
  }
  return total;
}

export default task(async (ctx) => {
  const anyTime = ctx.args.includes('--all') || ctx.config.DIGEST_ANY_TIME === '1';
  const r = await queueDigests(ctx, { anyTime });
  ctx.logger.info(r, 'weekly digest queued');
}, { publishes: [digest] });
