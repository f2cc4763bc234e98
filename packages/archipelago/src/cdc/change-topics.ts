// Typed change topics: what the cdc relay publishes per table, so workers subscribe with row types.
import { z } from 'zod';
import { topic, type Topic } from '../messaging/topic.js';
import { changeTopicName } from '../messaging/names.js';

export type ChangeOp = 'insert' | 'update' | 'delete';

/**
 * One row change. Delivery is at least once: `id` of the delivery (`<commit lsn>:<index in the
 * transaction>`) is stable across replays, so handlers can be idempotent. Values are as JSON
 * carries them: timestamps as ISO strings, bigint and numeric as strings.
 */
export interface RowChange<Row = Record<string, unknown>> {
  readonly table: string;
  readonly op: ChangeOp;
  /** The old row, on update and delete (the relay sets REPLICA IDENTITY FULL on watched tables). */
  readonly before?: Row;
  /** The new row, on insert and update. */
  readonly after?: Row;
  /** Log position of the change. */
  readonly lsn: string;
  /** ISO time of the transaction's commit. */
  readonly committedAt: string;
  readonly xid: number;
}

const anyRow = z.record(z.string(), z.unknown());

/** The change topic of `table` relayed by the cdc unit `unitName`; `schema` checks each row. */
export function changeTopic<Row = Record<string, unknown>>(unitName: string, table: string, schema?: z.ZodType<Row>): Topic<RowChange<Row>> {
  const row = (schema ?? anyRow) as z.ZodType<Row>;
  const change = z.object({
    table: z.string(),
    op: z.enum(['insert', 'update', 'delete']),
    before: row.optional(),
    after: row.optional(),
    lsn: z.string(),
    committedAt: z.string(),
    xid: z.number(),
  });
  return topic<RowChange<Row>>(changeTopicName(unitName, table), { schema: change as unknown as z.ZodType<RowChange<Row>> });
}
