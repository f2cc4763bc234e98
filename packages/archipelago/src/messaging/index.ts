// Messaging entry point: pick a broker for a service, wrap it in the Messaging facade.
import type pg from 'pg';
import type { ResolvedService } from '../service/types.js';
import type { Broker } from './broker.js';
import type { Warn } from './consumer.js';
import { createNatsBroker } from './brokers/nats.js';
import { createPostgresBroker } from './brokers/postgres.js';

export { createMessaging, checkMessage, runDelivery } from './runtime.js';
export { createMemoryBroker, type MemoryBroker } from './brokers/memory.js';
export { createPostgresBroker, type PostgresBrokerOptions } from './brokers/postgres.js';
export { createNatsBroker, type NatsBrokerOptions } from './brokers/nats.js';
export { backoffDelay, deliveryTimes, holderId, leaseMs, MAX_BROADCAST_BYTES } from './common.js';
export type * from './broker.js';
export type { Messaging, MessagingOptions } from './messaging.js';

export interface CreateBrokerOptions {
  readonly databaseUrl: string;
  /** Pool to share for queue tables (postgres) or the outbox (nats); the broker does not close it. */
  readonly pool?: pg.Pool;
  /** Where background loops report trouble; they keep retrying either way. */
  readonly warn?: Warn;
  /** Lease holder id of this process (`<replica>:<pid>`); see Broker.releaseHolder. */
  readonly holder?: string;
}

/** The broker a service declares (`broker: 'postgres' | 'nats'`). */
export function createBroker(service: Pick<ResolvedService, 'broker'>, opts: CreateBrokerOptions): Broker {
  const b = service.broker;
  if (b.kind === 'nats') return createNatsBroker({ url: b.url, stream: b.stream, databaseUrl: opts.databaseUrl, pool: opts.pool, warn: opts.warn, holder: opts.holder });
  return createPostgresBroker({ databaseUrl: opts.databaseUrl, pool: opts.pool, warn: opts.warn, holder: opts.holder });
}
