// `archipelago scale <unit> <n>`: sets a unit's replica count by hand, within replicas.min..max.
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import { findConfig } from '../service/load.js';
import { control } from '../supervisor/control.js';
import { parseArgs, type Command } from './main.js';

const command: Command = {
  summary: 'set a unit\'s replica count on the running supervisor (within replicas.min..max)',
  usage: 'archipelago scale <unit> <replicas> [--config <file>]',
  async run(argv) {
    const { opts, positionals } = parseArgs(argv, { config: 'string' });
    const [unit, n] = positionals;
    if (!unit || n === undefined || positionals.length > 2 || !/^\d+$/.test(n)) throw new ArchipelagoError('ARCH_E_USAGE', `usage: ${command.usage}`);
    const root = path.dirname(findConfig(opts.config as string | undefined));
    const r = await control<{ unit: string; from: number; to: number }>(root, 'POST', '/scale', { unit, replicas: Number(n) });
    console.log(`${r.unit}: ${r.from} -> ${r.to} replicas`);
    return 0;
  },
};
export default command;
