// `archipelago init [dir]`: scaffolds a new service in its own folder, ready for `archipelago up`.
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import { CONFIG_FILE } from '../service/load.js';
import { parseArgs, type Command } from './main.js';
import { scaffold } from './templates.js';

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

const command: Command = {
  summary: 'scaffold a new service (an api and a worker unit, migrations, CI script) in a folder',
  usage: 'archipelago init [dir] [--name <service>] [--port <port>]',
  async run(argv) {
    const { opts, positionals } = parseArgs(argv, { name: 'string', port: 'string' });
    if (positionals.length > 1) throw new ArchipelagoError('ARCH_E_USAGE', `usage: ${command.usage}`);
    const dir = path.resolve(positionals[0] ?? '.');
    const name = (opts.name as string | undefined) ?? path.basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+|-+$/g, '');
    if (!DNS_LABEL.test(name)) throw new ArchipelagoError('ARCH_E_INVALID_NAME', `service name "${name}" must be a DNS-1123 label (pass --name)`);
    const port = opts.port === undefined ? 3000 : Number(opts.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ArchipelagoError('ARCH_E_USAGE', `--port (${String(opts.port)}) must be a port number`);
    if (existsSync(path.join(dir, CONFIG_FILE))) throw new ArchipelagoError('ARCH_E_INIT_EXISTS', `${dir} already holds ${CONFIG_FILE}`);
    if (existsSync(dir) && readdirSync(dir).some((f) => f !== '.git')) throw new ArchipelagoError('ARCH_E_INIT_EXISTS', `${dir} is not empty; init a new service in an empty folder`);
    for (const [file, text] of Object.entries(scaffold(name, port))) {
      const p = path.join(dir, file);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, text);
      if (file === '.ci/run') chmodSync(p, 0o755);
    }
    const rel = path.relative(process.cwd(), dir) || '.';
    console.log(`created service "${name}" in ${rel}\n\n  cd ${rel}\n  npm install\n  npx archipelago up\n\nthen open http://localhost:${port}/`);
    return 0;
  },
};
export default command;
