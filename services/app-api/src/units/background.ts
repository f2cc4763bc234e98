// The background worker: turns row changes of upvotes, comments and posts into counters,
// reputation and aggregated notifications, then tells the realtime unit (broadcast on `live`).
import { subscribe, transaction, worker, type Delivery, type UnitContext } from 'archipelago-toolkit';
import { applyChange } from '../domain/effects.js';
import { changes, live, type Change } from '../topics.js';

export async function handleChange(delivery: Delivery<Change>, ctx: UnitContext): Promise<void> {
  const events = await transaction(ctx.db, (tx) => applyChange(tx, delivery.id, delivery.message));
  if (!events) {
    ctx.logger.debug({ id: delivery.id }, 'change already applied');
    return;
  }
  // After commit only: a rolled-back effect must not show up on anyone's screen. A lost broadcast
  // costs a stale counter until the next change, never a wrong stored value.
  for (const e of events) {
    await ctx.broadcast(live, e).catch((err: unknown) => ctx.logger.warn({ err }, 'live broadcast failed'));
  }
}

const opts = { concurrency: 8, maxAttempts: 10, backoff: { initial: '500ms', max: '1m' } } as const;

export default worker({
  subscriptions: [
    subscribe(changes.upvotes, 'background-upvotes', handleChange, opts),
    subscribe(changes.comments, 'background-comments', handleChange, opts),
    subscribe(changes.posts, 'background-posts', handleChange, opts),
  ],
  publishes: [live],
});
