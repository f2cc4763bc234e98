// The `archipelago` command line: parses the command name and loads its file lazily.
// Exit codes: 0 ok, 1 failure, 2 usage.
import { ArchipelagoError, isArchipelagoError } from '../errors.js';

export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(argv: string[]): Promise<number>;
}

// One file per command; a command whose file is absent is reported as unavailable.
const COMMANDS = ['up', 'run', 'validate', 'status', 'scale', 'cron', 'job', 'migrate', 'provision', 'init', 'add', 'synth', 'topics', 'dlq', 'simulate'] as const;
const commands: Record<string, () => Promise<{ default: Command }>> = Object.fromEntries(
  COMMANDS.map((name) => [name, () => import(`./${name}.js`) as Promise<{ default: Command }>]),
);

export async function help(): Promise<string> {
  const lines = ['Usage: archipelago <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const cmd = await load().then((m) => m.default, () => undefined);
    if (cmd) lines.push(`  ${name.padEnd(10)} ${cmd.summary}`);
  }
  lines.push('', 'Run `archipelago <command> --help` for a command\'s options.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`archipelago: unknown command "${name}"\n\n${await help()}`);
    return 2;
  }
  let cmd: Command;
  try {
    cmd = (await load()).default;
  } catch {
    console.error(`archipelago: command "${name}" is not available in this build`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${cmd.summary}\n\nUsage: ${cmd.usage}`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    return reportError(e);
  }
}

export function reportError(e: unknown): number {
  if (isArchipelagoError(e)) {
    console.error(`archipelago: ${e.code}: ${e.message}`);
    return e.code === 'ARCH_E_USAGE' ? 2 : 1;
  }
  console.error(e);
  return 1;
}

/** Parses `--flag value`, `--flag=value` and `--bool` options; returns positionals and `--` rest. */
export function parseArgs(argv: string[], spec: Record<string, 'string' | 'boolean'>): { opts: Record<string, string | boolean | undefined>; positionals: string[]; rest: string[] } {
  const opts: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { opts, positionals, rest: argv.slice(i + 1) };
    if (a.startsWith('--')) {
      const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const type = spec[key];
      if (!type) throw new ArchipelagoError('ARCH_E_USAGE', `unknown option --${key}`);
      if (type === 'boolean') opts[key] = true;
      else {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new ArchipelagoError('ARCH_E_USAGE', `option --${key} needs a value`);
        opts[key] = v;
      }
    } else positionals.push(a);
  }
  return { opts, positionals, rest: [] };
}
