// `archipelago status`: asks the running supervisor for units, replicas, health, restarts, back-off,
// crons and the autoscaler's history.
import path from 'node:path';
import { findConfig } from '../service/load.js';
import { control } from '../supervisor/control.js';
import type { DatabaseHealth } from '../supervisor/supervised-database.js';
import type { StatusSnapshot } from '../supervisor/state.js';
import type { CdcLoad } from '../units/process-metrics.js';
import { parseArgs, type Command } from './main.js';

const command: Command = {
  summary: 'show the running supervisor\'s units, replicas, health, restarts and scale history',
  usage: 'archipelago status [--config <file>] [--json]',
  async run(argv) {
    const { opts } = parseArgs(argv, { config: 'string', json: 'boolean' });
    const root = path.dirname(findConfig(opts.config as string | undefined));
    const s = await control<StatusSnapshot>(root, 'GET', '/status');
    if (opts.json) console.log(JSON.stringify(s, null, 2));
    else console.log(render(s));
    return 0;
  },
};
export default command;

export function render(s: StatusSnapshot): string {
  const out = [`${s.service}: supervisor pid ${s.pid}, up since ${s.startedAt} (${s.mode}), database ${s.database ? (s.database.embedded ? 'embedded' : 'DATABASE_URL') : 'none'}${databaseDetail(s.database?.health)}`, ''];
  const rows = [['UNIT', 'KIND', 'DESIRED', 'READY', 'MIN..MAX', 'HEALTH', 'RESTARTS', 'BACK-OFF', 'DETAIL']];
  for (const u of s.units) {
    const lastJob = u.jobRuns?.at(-1);
    const detail = u.cron
      ? `next ${u.cron.next ?? '-'}; last ${u.cron.last ? `${u.cron.last.outcome} at ${u.cron.last.startedAt}` : 'never'}; running ${u.cron.running}`
      : lastJob ? `last ${lastJob.id} ${lastJob.outcome} at ${lastJob.startedAt} (${lastJob.trigger}); ${u.jobRuns!.length} run${u.jobRuns!.length === 1 ? '' : 's'}`
      : u.replicaList.map((r) => `${r.id}:${r.state}${r.pid ? `(pid ${r.pid}${r.cpu !== null ? `, ${r.cpu}% cpu` : ''}, ${r.cdc ? cdcDetail(r.cdc) : `${r.inFlight} in flight`})` : ''}`).join(' ');
    rows.push([u.name, u.kind, String(u.replicas.desired), String(u.replicas.ready), `${u.replicas.min}..${u.replicas.max}`, u.health, String(u.restarts),
      u.backoff ? `${u.backoff.delayMs} ms` : '-', detail]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) out.push(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  if (s.history.length > 0) {
    out.push('', 'Scale history (latest last):');
    for (const h of s.history.slice(-15)) {
      const m = Object.entries(h.metrics).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 10) / 10 : v}`).join(' ');
      out.push(`  ${h.at}  ${h.unit}: ${h.from} -> ${h.to}  ${h.source}: ${h.reason}${m ? `  [${m}]` : ''}`);
    }
  }
  return out.join('\n');
}

/** `active, lag 12.0 KiB / 0.3 s, 1520 changes` or `standby`. */
export function cdcDetail(c: CdcLoad): string {
  if (c.state !== 'active') return c.state;
  const bytes = c.lagBytes === null ? '?' : c.lagBytes < 1024 ? `${c.lagBytes} B` : c.lagBytes < 1024 ** 2 ? `${(c.lagBytes / 1024).toFixed(1)} KiB` : `${(c.lagBytes / 1024 ** 2).toFixed(1)} MiB`;
  return `active, lag ${bytes} / ${c.lagSeconds.toFixed(1)} s, ${c.changesRelayed} changes`;
}

function databaseDetail(h: DatabaseHealth | undefined): string {
  if (!h) return '';
  const restarts = h.restarts > 0 ? `, ${h.restarts} restart${h.restarts === 1 ? '' : 's'}` : '';
  return h.state === 'up' ? ` (up${restarts})` : ` (DOWN: ${h.lastExit ?? 'not running'}; next start ${h.nextStartAt ?? 'now'}${restarts})`;
}
