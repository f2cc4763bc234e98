// `archipelago job run <name> [-- args]`: runs a job through the running supervisor, or directly in
// this process's child when no supervisor runs.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import { findConfig, loadService, unitByName } from '../service/load.js';
import { control } from '../supervisor/control.js';
import { databaseUrlFor } from './broker-connection.js';
import { checkSecrets, localUnitEnv } from '../supervisor/env.js';
import { BIN } from '../supervisor/spawn.js';
import { parseArgs, type Command } from './main.js';

const command: Command = {
  summary: 'run a job once (through the running supervisor, or directly when none runs)',
  usage: 'archipelago job run <name> [--config <file>] [-- args...]',
  async run(argv) {
    const { opts, positionals, rest } = parseArgs(argv, { config: 'string' });
    const [action, name] = positionals;
    if (action !== 'run' || !name || positionals.length > 2) throw new ArchipelagoError('ARCH_E_USAGE', `usage: ${command.usage}`);
    const configPath = findConfig(opts.config as string | undefined);
    const root = path.dirname(configPath);
    try {
      const r = await control<{ run: string; code: number | null; outcome: string }>(root, 'POST', '/job/run', { name, args: rest });
      console.log(`${name}: ${r.run} ${r.outcome} (exit code ${r.code})`);
      return r.code === 0 ? 0 : 1;
    } catch (e) {
      if (!(e instanceof ArchipelagoError) || e.code !== 'ARCH_E_SUPERVISOR_UNREACHABLE') throw e;
    }
    // No supervisor: run it here, as the unit's container would.
    const { service } = await loadService(configPath);
    const unit = unitByName(service, name);
    if (unit.kind !== 'job') throw new ArchipelagoError('ARCH_E_UNKNOWN_UNIT', `unit "${name}" is a ${unit.kind}, not a job`);
    const url = databaseUrlFor(service);
    // The environment its replica under the supervisor would get, and nothing else.
    checkSecrets(service, [unit]);
    const env = localUnitEnv({ service, unit, replica: `${name}-manual`, databaseUrl: url });
    const child = spawn(process.execPath, [BIN, 'run', name, '--config', configPath, ...(rest.length ? ['--', ...rest] : [])], { stdio: 'inherit', env, cwd: root });
    const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
    return code === 0 ? 0 : 1;
  },
};
export default command;
