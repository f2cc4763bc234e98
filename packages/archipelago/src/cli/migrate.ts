// `archipelago migrate`: applies the service's SQL migrations (each once, each in a transaction).
import { migrate } from '../database/migrations.js';
import { loadService } from '../service/load.js';
import { databaseUrlFor } from './broker-connection.js';
import { parseArgs, type Command } from './main.js';

const command: Command = {
  summary: 'apply the service\'s SQL migrations to DATABASE_URL (or the running supervisor\'s database), then provision its subscriptions',
  usage: 'archipelago migrate [--config <file>]',
  async run(argv) {
    const { opts } = parseArgs(argv, { config: 'string' });
    const { service } = await loadService(opts.config as string | undefined);
    const url = databaseUrlFor(service);
    const r = await migrate(url, service.migrationsDir, (m) => console.log(m));
    console.log(`${r.applied.length} applied, ${r.skipped.length} already applied (${service.migrationsDir})`);
    // Subscriptions exist from the declaration on, before any worker runs (see `archipelago provision`).
    const { provisionService } = await import('../messaging/provisioning.js');
    await provisionService(service, url);
    return 0;
  },
};
export default command;
