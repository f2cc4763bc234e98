// The topics the units share: row changes from the `changes` cdc unit, live events, digest batches.
import { changeTopic, topic, type RowChange } from 'archipelago-toolkit';
import { z } from 'zod';
import service from '../archipelago.config.js';

/** One row change as the toolkit's cdc relay publishes it (its own schema checks each message). */
export type Change = RowChange;

/** The cdc unit that streams this service's tables, read from archipelago.config.ts (one source). */
export const CDC_UNIT = service.units.find((u) => u.kind === 'cdc')!.name;
export const changes = {
  posts: changeTopic(CDC_UNIT, 'posts'),
  upvotes: changeTopic(CDC_UNIT, 'upvotes'),
  comments: changeTopic(CDC_UNIT, 'comments'),
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
