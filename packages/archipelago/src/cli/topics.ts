// `archipelago topics`: every topic, its subscriptions, owning unit, backlog, oldest age and dead letters.
import { loadCatalog } from '../service/catalog.js';
import { loadService } from '../service/load.js';
import { isArchipelagoError } from '../errors.js';
import type { SubscriptionStats } from '../messaging/broker.js';
import { declaredSubscriptions, orphanedSubscriptions } from '../messaging/provisioning.js';
import { formatAge, openBroker, table } from './broker-connection.js';
import { parseArgs, type Command } from './main.js';

export interface TopicRow {
  topic: string;
  publishedBy: string[];
  /** `orphaned`: registered on the broker but declared by no unit; kept until `archipelago provision --prune`. */
  subscriptions: { name: string; unit: string; registered: boolean; orphaned: boolean; backlog: number | null; oldestAgeMs: number | null; deadLetters: number | null }[];
}

const command: Command = {
  summary: 'list topics and subscriptions with backlog, oldest age and dead letters',
  usage: 'archipelago topics [--config <file>] [--json]',
  async run(argv) {
    const { opts } = parseArgs(argv, { config: 'string', json: 'boolean' });
    const { service } = await loadService(opts.config as string | undefined);
    const catalog = await loadCatalog(service);
    const topics = new Map<string, TopicRow>();
    const row = (t: string) => {
      let r = topics.get(t);
      if (!r) topics.set(t, (r = { topic: t, publishedBy: [], subscriptions: [] }));
      return r;
    };
    for (const [unit, def] of catalog.definitions) for (const t of def.publishes) row(t.name).publishedBy.push(unit);
    for (const t of catalog.published) row(t);
    const broker = await openBroker(service);
    try {
      for (const [unit, specs] of catalog.subscriptions) {
        for (const s of specs) {
          let st: SubscriptionStats | undefined;
          try {
            st = await broker.stats(s.name);
          } catch (e) {
            if (!isArchipelagoError(e) || e.code !== 'ARCH_E_SUBSCRIPTION_UNKNOWN') throw e;
          }
          row(s.topic).subscriptions.push({
            name: s.name, unit, registered: st !== undefined, orphaned: false,
            backlog: st?.backlog ?? null, oldestAgeMs: st?.oldestAgeMs ?? null, deadLetters: st?.deadLetters ?? null,
          });
        }
      }
      for (const o of await orphanedSubscriptions(broker, declaredSubscriptions(catalog))) {
        const st = await broker.stats(o.name);
        row(o.topic).subscriptions.push({ name: o.name, unit: o.unit, registered: true, orphaned: true, backlog: st.backlog, oldestAgeMs: st.oldestAgeMs, deadLetters: st.deadLetters });
      }
    } finally {
      await broker.close();
    }
    const rows = [...topics.values()].sort((a, b) => a.topic.localeCompare(b.topic));
    if (opts.json) {
      console.log(JSON.stringify({ service: service.name, broker: service.broker.kind, topics: rows }, null, 2));
      return 0;
    }
    for (const w of catalog.warnings) console.error(`warning: ${w}`);
    const lines = [['TOPIC', 'SUBSCRIPTION', 'UNIT', 'BACKLOG', 'OLDEST', 'DEAD']];
    for (const t of rows) {
      if (!t.subscriptions.length) lines.push([t.topic, '-', '-', '-', '-', '-']);
      for (const s of t.subscriptions) {
        lines.push([t.topic, s.name, s.orphaned ? `${s.unit} (orphaned)` : s.unit, s.registered ? String(s.backlog) : 'not provisioned', formatAge(s.oldestAgeMs), s.deadLetters === null ? '-' : String(s.deadLetters)]);
      }
    }
    console.log(`${service.name} (broker: ${service.broker.kind})\n${table(lines)}`);
    if (rows.some((t) => t.subscriptions.some((x) => x.orphaned))) console.log('orphaned: declared by no unit any more; `archipelago provision --prune` removes them with their messages');
    return 0;
  },
};
export default command;
