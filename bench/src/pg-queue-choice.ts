// `node --import tsx bench/src/pg-queue-choice.ts [total] [samples]`: measures graphile-worker 0.18
// and pg-boss 12 (and the archipelago postgres broker) on this machine, same work, same database
// server, one after another: bulk publish + consume throughput and one-at-a-time publish -> handler
// latency. The figures are written down in packages/archipelago/src/messaging/brokers/CHOICE.md.
import { measure, oursPostgres, rawGraphile, rawPgBoss, type Measured } from './lib/queues.js';
import { withPostgres } from './lib/postgres.js';

const total = Number(process.argv[2] ?? 20_000);
const samples = Number(process.argv[3] ?? 200);

const results: Measured[] = await withPostgres(async (db) => [
  await measure(rawGraphile(await db('graphile')), { total, samples }),
  await measure(rawPgBoss(await db('pgboss')), { total, samples }),
  await measure(oursPostgres(await db('ours')), { total, samples }),
]);
console.log(`| system | jobs/s (${total} bulk) | latency p50 ms | latency p99 ms |\n| --- | ---: | ---: | ---: |`);
for (const r of results) console.log(`| ${r.system} | ${r.throughput.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
process.exit(0);
