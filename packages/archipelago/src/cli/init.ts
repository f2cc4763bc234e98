// `archipelago init [dir]`: scaffolds a new service in its own folder, ready for `npm install`,
// `npm test` and `archipelago up`. Loads no dependency, so it runs from an unpacked tarball too.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import { parseArgs, type Command } from './main.js';
import { scaffold } from './scaffold.js';
import { TOOLKIT } from './templates.js';

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CONFIG_FILE = 'archipelago.config.ts';

const command: Command = {
  summary: 'scaffold a new service (api and worker units, a migration, tests, CI script) in a folder',
  usage: `archipelago init [dir] [--name <service>] [--port <port>] [--toolkit <tarball|folder>]

  --toolkit  where the service gets the toolkit: a .tgz (copied into vendor/, so installs and image
             builds see it) or a folder (linked); default: ${TOOLKIT.name}@^${TOOLKIT.version} from the registry`,
  async run(argv) {
    const { opts, positionals } = parseArgs(argv, { name: 'string', port: 'string', toolkit: 'string' });
    if (positionals.length > 1) throw new ArchipelagoError('ARCH_E_USAGE', `usage: ${command.usage}`);
    const dir = path.resolve(positionals[0] ?? '.');
    const name = (opts.name as string | undefined) ?? path.basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+|-+$/g, '');
    if (!DNS_LABEL.test(name)) throw new ArchipelagoError('ARCH_E_INVALID_NAME', `service name "${name}" must be a DNS-1123 label (pass --name)`);
    const port = opts.port === undefined ? 3000 : Number(opts.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ArchipelagoError('ARCH_E_USAGE', `--port (${String(opts.port)}) must be a port number`);
    if (existsSync(path.join(dir, CONFIG_FILE))) throw new ArchipelagoError('ARCH_E_INIT_EXISTS', `${dir} already holds ${CONFIG_FILE}`);
    if (existsSync(dir) && readdirSync(dir).some((f) => f !== '.git')) throw new ArchipelagoError('ARCH_E_INIT_EXISTS', `${dir} is not empty; init a new service in an empty folder`);
    const toolkit = toolkitDependency(dir, opts.toolkit as string | undefined);
    for (const [file, text] of Object.entries(scaffold({ name, port, toolkitSpec: toolkit.spec }))) {
      const p = path.join(dir, file);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, text);
      if (file === '.ci/run') chmodSync(p, 0o755);
    }
    if (toolkit.copy) {
      mkdirSync(path.dirname(toolkit.copy.to), { recursive: true });
      copyFileSync(toolkit.copy.from, toolkit.copy.to);
    }
    const rel = path.relative(process.cwd(), dir) || '.';
    console.log(`created service "${name}" in ${rel} (${TOOLKIT.name}: ${toolkit.spec})\n\n  cd ${rel}\n  npm install\n  npm test\n  npm start\n\nthen open http://localhost:${port}/`);
    return 0;
  },
};
export default command;

/**
 * A tarball is copied into the service (`vendor/`) and depended on by a relative `file:` path: the
 * lockfile, a CI checkout and the Docker build context all see it. A folder is linked (developing
 * the toolkit itself). Without either, the registry's release of the running version.
 */
function toolkitDependency(dir: string, source: string | undefined): { spec: string; copy?: { from: string; to: string } } {
  if (source === undefined) return { spec: `^${TOOLKIT.version}` };
  const from = path.resolve(source);
  if (!existsSync(from)) throw new ArchipelagoError('ARCH_E_USAGE', `--toolkit ${source}: ${from} does not exist`);
  if (statSync(from).isDirectory()) return { spec: `file:${path.relative(dir, from).split(path.sep).join('/')}` };
  if (!from.endsWith('.tgz')) throw new ArchipelagoError('ARCH_E_USAGE', `--toolkit ${source} must be a .tgz from \`npm pack\` or the toolkit's folder`);
  const to = path.join(dir, 'vendor', path.basename(from));
  return { spec: `file:vendor/${path.basename(from)}`, copy: { from, to } };
}
