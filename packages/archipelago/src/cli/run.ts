// `archipelago run <unit>`: runs one replica of a unit in this process; the container entrypoint.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import { findConfig, loadResolved, loadService } from '../service/load.js';
import { runInProcess, runUnit } from '../units/run.js';
import { parseArgs, reportError, type Command } from './main.js';

/** DATABASE_URL when set; otherwise the URL the local supervisor wrote for this service. */
export function databaseUrlFor(root: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  const file = path.join(root, '.archipelago', 'database.json');
  if (existsSync(file)) {
    try {
      const { url } = JSON.parse(readFileSync(file, 'utf8')) as { url?: unknown };
      if (typeof url === 'string' && url) return url;
    } catch {}
    throw new ArchipelagoError('ARCH_E_DATABASE', `${file} holds no database "url"; delete it and start \`archipelago up\` again, or set DATABASE_URL`);
  }
  throw new ArchipelagoError('ARCH_E_DATABASE', `no database: set DATABASE_URL, or start \`archipelago up\` for this service so that it writes ${file}`);
}

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
      const databaseUrl = databaseUrlFor(service.root);
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
