// Advisory-lock keys. Every advisory lock the toolkit and its services take is named
// `<namespace>.<purpose>` (`archipelago.migrations`, `app-api.demo-seed`) and hashed here into
// PostgreSQL's 64-bit key space. Numbers picked by hand collided (demo-seed took the broker's
// setup lock, so seeding held up every worker's start); names cannot, and this process refuses two
// names whose keys meet. A leaf module: SQL constants anywhere can use it.
import { createHash } from 'node:crypto';
import { ArchipelagoError } from '../errors.js';

/** A namespace (a service or `archipelago`), then one or more dot-separated parts. */
const NAME = /^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9_:-]*)+$/;
const names = new Map<string, string>();

/**
 * The key of the advisory lock `name`, as a decimal bigint: pass it as a parameter
 * as a bound parameter cast to bigint, or embed it in SQL with the same cast.
 */
export function advisoryLockKey(name: string): string {
  if (!NAME.test(name)) {
    throw new ArchipelagoError('ARCH_E_INVALID_VALUE', `advisory lock name ${JSON.stringify(name)} must be "<namespace>.<purpose>" (lowercase, e.g. "app-api.demo-seed")`);
  }
  const key = createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
  const other = names.get(key);
  if (other !== undefined && other !== name) {
    throw new ArchipelagoError('ARCH_E_INVALID_VALUE', `advisory lock "${name}" has the same key as "${other}"; rename one`);
  }
  names.set(key, name);
  return key;
}

/** The toolkit's own locks, one name per purpose. */
export const TOOLKIT_LOCKS = {
  migrations: 'archipelago.migrations',
  postgresBrokerSetup: 'archipelago.postgres-broker.setup',
  natsBrokerSetup: 'archipelago.nats-broker.setup',
  natsOutboxRelay: 'archipelago.nats-broker.outbox-relay',
  /** One per replication slot: the active cdc relay of a service's cdc unit. */
  cdcRelay: (slot: string) => `archipelago.cdc.${slot}`,
} as const;
