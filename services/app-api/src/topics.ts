// The topics the units share: row changes from the `changes` cdc unit, live events, digest batches.
import { changeTopicName, topic } from 'archipelago-toolkit';
import { z } from 'zod';

const row = z.record(z.string(), z.unknown());
/** What the cdc relay publishes for one row change. */
export const changeSchema = z.object({
  table: z.string(),
  op: z.enum(['insert', 'update', 'delete']),
  before: row.nullish(),
  after: row.nullish(),
  lsn: z.string(),
  committedAt: z.union([z.string(), z.date()]).transform((v) => (typeof v === 'string' ? v : v.toISOString())),
  xid: z.union([z.number(), z.string()]).optional(),
});
export type Change = z.input<typeof changeSchema>;

/** The cdc unit that streams this service's tables (see archipelago.config.ts). */
export const CDC_UNIT = 'changes';
export const changes = {
  posts: topic(changeTopicName(CDC_UNIT, 'posts'), { schema: changeSchema }),
  upvotes: topic(changeTopicName(CDC_UNIT, 'upvotes'), { schema: changeSchema }),
  comments: topic(changeTopicName(CDC_UNIT, 'comments'), { schema: changeSchema }),
};

export const liveSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('notification'), userId: z.string(), notification: z.record(z.string(), z.unknown()) }),
  z.object({ kind: z.literal('post'), id: z.string(), upvotes: z.number(), comments: z.number() }),
]);
export type LiveEvent = z.infer<typeof liveSchema>;
/** Broadcast from the background unit to every realtime replica. */
export const live = topic<LiveEvent>('live', { schema: liveSchema });

export const digestBatchSchema = z.object({ week: z.string().regex(/^\d{4}-W\d{2}$/), userIds: z.array(z.string().regex(/^\d+$/)).min(1) });
export type DigestBatch = z.infer<typeof digestBatchSchema>;
export const digest = topic<DigestBatch>('digest', { schema: digestBatchSchema });
