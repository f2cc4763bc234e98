// `archipelago provision`: creates the broker's tables or stream and every subscription the service
// declares, whether or not its worker runs; lists orphaned subscriptions, and removes them only
// with --prune.
import { provisionService } from '../messaging/provisioning.js';
import { loadService } from '../service/load.js';
import { databaseUrlFor } from './broker-connection.js';
import { parseArgs, type Command } from './main.js';

const command: Command = {
  summary: 'create the broker\'s topics, subscriptions and dead-letter stores from the declaration',
  usage: 'archipelago provision [--config <file>] [--prune]',
  async run(argv) {
    const { opts } = parseArgs(argv, { config: 'string', prune: 'boolean' });
    const { service } = await loadService(opts.config as string | undefined);
    await provisionService(service, databaseUrlFor(service), { prune: opts.prune === true });
    return 0;
  },
};
export default command;
