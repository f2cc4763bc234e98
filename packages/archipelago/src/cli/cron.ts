// `archipelago cron run <name>`: fires a cron now on the running supervisor (its concurrency holds).
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import { findConfig } from '../service/load.js';
import { control } from '../supervisor/control.js';
import { parseArgs, type Command } from './main.js';

const command: Command = {
  summary: 'fire a cron now on the running supervisor',
  usage: 'archipelago cron run <name> [--config <file>]',
  async run(argv) {
    const { opts, positionals } = parseArgs(argv, { config: 'string' });
    const [action, name] = positionals;
    if (action !== 'run' || !name || positionals.length > 2) throw new ArchipelagoError('ARCH_E_USAGE', `usage: ${command.usage}`);
    const root = path.dirname(findConfig(opts.config as string | undefined));
    const r = await control<{ started: boolean; run?: string; reason?: string }>(root, 'POST', '/cron/run', { name });
    if (r.started) console.log(`${name}: started ${r.run}`);
    else console.log(`${name}: not started: ${r.reason}`);
    return r.started ? 0 : 1;
  },
};
export default command;
