// `archipelago dlq`: list, show, replay or purge a subscription's dead letters.
import { ArchipelagoError } from '../errors.js';
import { loadCatalog } from '../service/catalog.js';
import { loadService } from '../service/load.js';
import { formatAge, openBroker, table } from './broker-connection.js';
import { parseArgs, type Command } from './main.js';

const USAGE = 'archipelago dlq list|show|replay|purge <subscription> [id] [--limit <n>] [--config <file>] [--json]';

const command: Command = {
  summary: 'list, show, replay or purge a subscription\'s dead letters',
  usage: USAGE,
  async run(argv) {
    const { opts, positionals } = parseArgs(argv, { config: 'string', json: 'boolean', limit: 'string' });
    const [action, subscription, id] = positionals;
    if (!action || !['list', 'show', 'replay', 'purge'].includes(action) || !subscription) throw new ArchipelagoError('ARCH_E_USAGE', `usage: ${USAGE}`);
    if (action === 'show' && !id) throw new ArchipelagoError('ARCH_E_USAGE', 'dlq show needs a message id');
    const limit = opts.limit === undefined ? 100 : Number(opts.limit);
    if (!Number.isInteger(limit) || limit <= 0) throw new ArchipelagoError('ARCH_E_USAGE', `--limit must be a positive integer (got ${String(opts.limit)})`);
    const { service } = await loadService(opts.config as string | undefined);
    const catalog = await loadCatalog(service);
    const known = [...catalog.subscriptions.values()].flat().map((s) => s.name);
    if (!known.includes(subscription)) {
      throw new ArchipelagoError('ARCH_E_SUBSCRIPTION_UNKNOWN', `service "${service.name}" has no subscription "${subscription}" (subscriptions: ${known.join(', ') || 'none'})`);
    }
    const broker = await openBroker(service);
    try {
      const dl = broker.deadLetters;
      if (action === 'list') {
        const items = await dl.list(subscription, { limit });
        if (opts.json) { console.log(JSON.stringify(items, null, 2)); return 0; }
        if (!items.length) { console.log(`no dead letters in "${subscription}"`); return 0; }
        const now = Date.now();
        console.log(table([['ID', 'ATTEMPTS', 'FAILED', 'ERROR'], ...items.map((d) => [d.id, String(d.attempts), `${formatAge(now - d.failedAt.getTime())} ago`, firstLine(d.error)])]));
        return 0;
      }
      if (action === 'show') {
        const d = await dl.get(subscription, id!);
        if (!d) throw new ArchipelagoError('ARCH_E_USAGE', `no dead letter ${id} in "${subscription}"`);
        if (opts.json) { console.log(JSON.stringify(d, null, 2)); return 0; }
        console.log([`id:           ${d.id}`, `subscription: ${d.subscription}`, `topic:        ${d.topic}`, `attempts:     ${d.attempts}`,
          `published:    ${d.publishedAt.toISOString()}`, `failed:       ${d.failedAt.toISOString()}`, `payload:      ${JSON.stringify(d.payload, null, 2)}`, `error:\n${d.error}`].join('\n'));
        return 0;
      }
      const n = action === 'replay' ? await dl.replay(subscription, id ? [id] : undefined) : await dl.purge(subscription, id ? [id] : undefined);
      if (opts.json) console.log(JSON.stringify({ [action === 'replay' ? 'replayed' : 'purged']: n }));
      else console.log(`${action === 'replay' ? 'replayed' : 'purged'} ${n} dead letter${n === 1 ? '' : 's'} of "${subscription}"`);
      return 0;
    } finally {
      await broker.close();
    }
  },
};
export default command;

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}
