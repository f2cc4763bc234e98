// The digest worker: each message is a batch of users; each gets the week's top posts in their
// tags, rendered from templates compiled once, sent through the transport, recorded at most once.
import { subscribe, worker, type Delivery, type UnitContext } from 'archipelago-toolkit';
import { selectDigests, sendDigests, type SendOutcome } from '../domain/digest.js';
import { transportFor, type Transport } from '../domain/transport.js';
import { digest, type DigestBatch } from '../topics.js';

/** Users claimed, sent and marked together: the most a crash can leave `sending` per batch. */
export const SEND_CHUNK = 100;

let transport: Transport | undefined;

export async function handleBatch(delivery: Delivery<DigestBatch>, ctx: UnitContext, t?: Transport): Promise<Record<SendOutcome, number>> {
  // One transport per process (an SMTP pool), unless a test hands its own.
  const via = t ?? (transport ??= transportFor(ctx.config, ctx.service.root));
  const { week, userIds } = delivery.message;
  const limit = Number(ctx.config.DIGEST_TOP_POSTS ?? 10) || 10;
  const opts = { from: ctx.config.DIGEST_FROM ?? 'app-api digest <digest@app-api.localhost>', appUrl: ctx.config.APP_URL ?? 'http://localhost:3000', signal: ctx.signal,
    onFailure: (userId: string, reason: string) => ctx.logger.warn({ week, userId, reason }, 'digest not sent: it could not be built') };
  const digests = [...(await selectDigests(ctx.db, userIds, { limit })).values()];
  const counts: Record<SendOutcome, number> = { sent: 0, empty: 0, skipped: 0, failed: 0 };
  for (let i = 0; i < digests.length; i += SEND_CHUNK) {
    const r = await sendDigests(ctx.db, via, digests.slice(i, i + SEND_CHUNK), week, opts);
    for (const k of Object.keys(counts) as SendOutcome[]) counts[k] += r[k];
  }
  ctx.logger.info({ week, users: userIds.length, ...counts, attempt: delivery.attempt }, 'digest batch done');
  return counts;
}

export default worker({
  subscriptions: [subscribe(digest, 'digest-send', (d, ctx) => handleBatch(d, ctx).then(() => {}), { concurrency: 2, maxAttempts: 5, deadline: '10m' })],
});
