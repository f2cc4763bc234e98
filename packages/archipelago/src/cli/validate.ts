// `archipelago validate`: loads and checks the service declaration, printing every issue.
import path from 'node:path';
import { findConfig, importConfig, validateService } from '../service/index.js';
import { parseArgs, type Command } from './main.js';

const command: Command = {
  summary: 'check the service declaration and print every problem',
  usage: 'archipelago validate [--config <file>] [--json]',
  async run(argv) {
    const { opts } = parseArgs(argv, { config: 'string', json: 'boolean' });
    const configPath = findConfig(opts.config as string | undefined);
    const r = validateService(await importConfig(configPath), { root: path.dirname(configPath), configPath });
    if (opts.json) {
      console.log(JSON.stringify({ ok: r.errors.length === 0, errors: r.errors, warnings: r.warnings }, null, 2));
    } else {
      for (const w of r.warnings) console.error(`warning ${w.code}: ${w.message}`);
      for (const e of r.errors) console.error(`error ${e.code}: ${e.message}`);
      if (r.service) console.log(`${r.service.name}: ${r.service.units.length} units OK (${r.service.units.map((u) => `${u.name}:${u.kind}`).join(', ')})`);
    }
    return r.errors.length === 0 ? 0 : 1;
  },
};
export default command;
