// The digest worker: each message is a batch of users; each gets the week's top posts in their
// tags, rendered from templates compiled once, sent through the transport, recorded at most once.
import { subscribe, worker, type Delivery, type UnitContext } from 'archipelago';
import { selectDigests, sendDigest, type SendOutcome } from '../domain/digest.js';
import { transportFor, type Transport } from '../domain/transport.js';
import { digest, type DigestBatch } from '../topics.js';

let transport: Transport | undefined;

export async function handleBatch(delivery: Delivery<DigestBatch>, ctx: UnitContext, t?: Transport): Promise<Record<SendOutcome, number>> {
  // One transport per process (an SMTP pool), unless a test hands its own.
  const via = t ?? (transport ??= transportFor(ctx.config, ctx.service.root));
  const { week, userIds } = delivery.message;
  const limit = Number(ctx.config.DIGEST_TOP_POSTS ?? 10) || 10;
  const opts = { from: ctx.config.DIGEST_FROM ?? 'app-api digest <digest@app-api.localhost>', appUrl: ctx.config.APP_URL ?? 'http://localhost:3000' };
  const digests = await selectDigests(ctx.db, userIds, { limit });
  const counts: Record<SendOutcome, number> = { sent: 0, empty: 0, skipped: 0 };
  for (const d of digests.values()) {
    if (ctx.signal.aborted) throw new Error('shutting down; the rest of the batch is retried (sent users are skipped)');
    counts[await sendDigest(ctx.db, via, d, week, opts)]++;
  }
  ctx.logger.info({ week, users: userIds.length, ...counts, attempt: delivery.attempt }, 'digest batch done');
  return counts;
}

export default worker({
  subscriptions: [subscribe(digest, 'digest-send', (d, ctx) => handleBatch(d, ctx).then(() => {}), { concurrency: 2, maxAttempts: 5, deadline: '10m' })],
});
