// `archipelago synth`: writes the Kubernetes manifests (and, with --dockerfile, the Dockerfile).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ArchipelagoError } from '../errors.js';
import { loadCatalog, loadService } from '../service/index.js';
import { dockerfile, dockerignore, synthesize, writeYaml } from '../synth/index.js';
import { parseArgs, type Command } from './main.js';

const command: Command = {
  summary: 'write Kubernetes manifests (a file per unit + kustomization.yaml) or the Dockerfile',
  usage: 'archipelago synth --out <dir> [--image <ref>] [--namespace <ns>] [--environment <name>] [--config <file>]\n'
    + '       archipelago synth --dockerfile [--force] [--config <file>]',
  async run(argv) {
    const { opts } = parseArgs(argv, { out: 'string', image: 'string', namespace: 'string', environment: 'string', config: 'string', dockerfile: 'boolean', force: 'boolean' });
    const { service, warnings } = await loadService(opts.config as string | undefined);
    for (const w of warnings) console.error(`warning ${w.code}: ${w.message}`);
    if (opts.dockerfile) {
      const file = path.join(service.root, 'Dockerfile');
      if (existsSync(file) && !opts.force) throw new ArchipelagoError('ARCH_E_USAGE', `${file} already exists (use --force to overwrite it)`);
      const workspace = await workspaceOf(service.root);
      await writeFile(file, dockerfile(service, workspace ? { workspace: path.relative(workspace, service.root) } : { vendor: existsSync(path.join(service.root, 'vendor')) }));
      const ignore = path.join(workspace ?? service.root, '.dockerignore');
      if (!existsSync(ignore)) await writeFile(ignore, dockerignore());
      console.log(`wrote ${file}${workspace ? ` (build it from the workspace root ${workspace}: docker build -f ${path.relative(workspace, file)} .)` : ''}`);
      if (!opts.out) return 0;
    }
    if (!opts.out) throw new ArchipelagoError('ARCH_E_USAGE', 'synth needs --out <dir> (or --dockerfile)');
    const catalog = await loadCatalog(service);
    for (const w of catalog.warnings) console.error(`warning: ${w}`);
    const image = (opts.image as string | undefined) ?? `${service.name}:latest`;
    if (!opts.image) console.error(`warning: no --image given; using "${image}"`);
    const result = synthesize(service, {
      image, namespace: (opts.namespace as string | undefined) ?? service.name,
      environment: (opts.environment as string | undefined) ?? 'production', subscriptions: catalog.subscriptions,
    });
    const written = await writeYaml(path.resolve(opts.out as string), result);
    for (const o of result.omitted) console.log(`left out unit "${o.unit}" (${o.reason}): it does not exist in this environment`);
    console.log(`wrote ${result.objects.length} objects in ${written.length} files to ${path.resolve(opts.out as string)} (apply with: kubectl apply -k ${opts.out as string})`);
    return 0;
  },
};
export default command;

/** The npm workspace root above `dir` whose workspaces include it, if any. */
async function workspaceOf(dir: string): Promise<string | undefined> {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const pkg = path.join(d, 'package.json');
    if (!existsSync(pkg)) continue;
    const json = JSON.parse(await readFile(pkg, 'utf8')) as { workspaces?: string[] | { packages?: string[] } };
    if (json.workspaces) return d;
  }
  return undefined;
}
