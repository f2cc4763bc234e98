// The `nats` broker (JetStream). Placeholder until the JetStream driver lands on this branch.
import type { Broker } from '../broker.js';
import { ArchipelagoError } from '../../errors.js';

export interface NatsBrokerOptions { readonly url: string; readonly stream: string; readonly databaseUrl: string; readonly pool?: import('pg').Pool; readonly warn?: (msg: string, err?: unknown) => void }

export function createNatsBroker(_opts: NatsBrokerOptions): Broker {
  throw new ArchipelagoError('ARCH_E_BROKER', 'the nats broker is not available yet');
}
