// Names derived from declarations, as pure functions every folder may use (synth, the brokers, the
// cdc relay, the catalog): the JetStream durable of a subscription and the topic of a table's changes.
import { createHash } from 'node:crypto';

/** JetStream durable names allow no `.`, `*`, `>` or whitespace. */
export function durableName(subscription: string): string {
  const clean = subscription.replace(/[^A-Za-z0-9_-]/g, '_');
  return clean === subscription ? clean : `${clean}_${createHash('sha1').update(subscription).digest('hex').slice(0, 8)}`;
}

/** The topic the cdc unit `unit` publishes the changes of `table` on. */
export function changeTopicName(unit: string, table: string): string {
  return `${unit}.${table.toLowerCase()}`;
}
