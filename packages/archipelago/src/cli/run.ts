// `archipelago run <unit>`: runs one replica of a unit in this process; the container entrypoint.
import { ArchipelagoError } from '../errors.js';
import { findConfig, loadResolved, loadService } from '../service/load.js';
import { runInProcess, runUnit } from '../units/start.js';
import { databaseUrlFor } from './broker-connection.js';
import { parseArgs, reportError, type Command } from './main.js';

const command: Command = {
  summary: 'run one replica of a unit in this process (the container entrypoint)',
  usage: 'archipelago run <unit> [<unit>...] [--config <file>] [--replica <id>] [-- args]  (several units share one process)',
  async run(argv) {
    try {
      const { opts, positionals, rest } = parseArgs(argv, { config: 'string', replica: 'string' });
      if (positionals.length === 0) throw new ArchipelagoError('ARCH_E_USAGE', `expected a unit name: ${command.usage}`);
      const handed = loadResolved(findConfig(opts.config as string | undefined));
      const { service, warnings } = handed ? { service: handed, warnings: [] } : await loadService(opts.config as string | undefined);
      for (const w of warnings) console.error(`warning ${w.code}: ${w.message}`);
      const databaseUrl = databaseUrlFor(service);
      const replica = opts.replica as string | undefined;
      if (positionals.length === 1) await runUnit({ service, unit: positionals[0]!, args: rest, replica, databaseUrl });
      else await runInProcess(service, positionals, { databaseUrl, replica });
    } catch (e) {
      // Exit now: an open IPC channel, pool or server would otherwise keep a failed replica alive.
      process.exit(reportError(e));
    }
    // The replica now lives on its servers and timers and ends the process itself.
    return 0;
  },
};
export default command;
