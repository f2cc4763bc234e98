// One broker client and one catalog per supervisor: provisioning, the autoscaler's backlog reader,
// releasing a dead replica's leases and the console all use these, instead of each opening its own
// connections and importing every entry file again.
import type { Broker } from '../messaging/broker.js';
import { createBroker } from '../messaging/index.js';
import { loadCatalog, type Catalog } from '../service/catalog.js';
import type { ResolvedService } from '../service/types.js';

export class BrokerSession {
  private client: Broker | undefined;
  private catalogRead: Promise<Catalog> | undefined;
  private ready: Promise<void> | undefined;

  constructor(private readonly service: ResolvedService, private readonly databaseUrl: () => string, private readonly warn: (m: string) => void) {}

  /** The service's broker client, opened on first use (`init` once). */
  async broker(): Promise<Broker> {
    this.client ??= createBroker(this.service, { databaseUrl: this.databaseUrl(), warn: (m, e) => this.warn(`broker: ${m}${e ? `: ${(e as Error)?.message ?? String(e)}` : ''}`) });
    this.ready ??= this.client.init().catch((e: unknown) => { this.ready = undefined; throw e; });
    await this.ready;
    return this.client;
  }

  /** What the units' entry files declare, read once (read again after a failure). */
  catalog(): Promise<Catalog> {
    this.catalogRead ??= loadCatalog(this.service).catch((e: unknown) => { this.catalogRead = undefined; throw e; });
    return this.catalogRead;
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}
