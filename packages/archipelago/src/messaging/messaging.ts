// The Messaging facade a unit host uses: typed publish, the subscription runtime (schema checks,
// retries, deadlines, dead letters) and broadcasts, over any Broker.
import type { Logger } from 'pino';
import type { Topic } from './topic.js';
import type { PublishOptions } from './contract.js';
import type { Broker, ConsumerHandle } from './broker.js';
import type { BroadcastDefinition, SubscriptionDefinition, UnitContext } from '../units/define.js';

export interface Messaging {
  readonly broker: Broker;
  publish<T>(topic: Topic<T>, message: T, opts?: PublishOptions): Promise<string>;
  publishMany<T>(topic: Topic<T>, messages: readonly T[], opts?: Omit<PublishOptions, 'id'>): Promise<string[]>;
  broadcast<T>(topic: Topic<T>, message: T): Promise<void>;
  /** Starts consuming a worker's subscriptions; the handle's `stop(grace)` drains them. */
  startSubscriptions(defs: readonly SubscriptionDefinition[], ctx: UnitContext): Promise<ConsumerHandle>;
  /** Delivers broadcasts on these topics to `handler`s in this process; resolves to an unsubscribe. */
  startBroadcasts(defs: readonly Pick<BroadcastDefinition, 'topic' | 'handler'>[], ctx: UnitContext): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface MessagingOptions {
  readonly unit: string;
  readonly logger: Logger;
  /** A handler ignored its aborted signal past its overrun allowance: the host should end the replica. */
  readonly onOverrun?: (o: Overrun) => void;
}

/** What the runtime reports when a handler ignores its aborted signal past its overrun allowance. */
export interface Overrun { readonly subscription: string; readonly id: string; readonly attempt: number; readonly deadlineMs: number; readonly overrunMs: number }
