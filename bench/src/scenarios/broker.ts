// Broker throughput and publish -> handler latency, ours beside the raw library doing the same
// at-least-once work in the same run: the postgres broker against pg-boss 12 (the faster raw
// PostgreSQL queue measured here, see CHOICE.md), the nats broker against raw JetStream.
import { randomBytes } from 'node:crypto';
import { measure, oursNats, oursPostgres, rawJetStream, rawPgBoss, type Measured } from '../lib/queues.js';
import { withPostgres } from '../lib/postgres.js';
import { higher, lower, type Figure, type Scenario, type Size } from '../types.js';

const PLAN = { small: { total: 2000, samples: 20 }, full: { total: 20_000, samples: 200 } } as const;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

function figures(broker: string, ours: Measured, raw: Measured): Figure[] {
  return [
    { name: `${broker}: publish+consume throughput vs ${raw.system} (higher is better)`, unit: 'msgs/s', ours: ours.throughput, baseline: raw.throughput, ratio: higher(ours.throughput, raw.throughput) },
    { name: `${broker}: publish->handler latency p50 vs ${raw.system} (ratio = baseline/ours)`, unit: 'ms', ours: ours.p50, baseline: raw.p50, ratio: lower(ours.p50, raw.p50) },
    { name: `${broker}: publish->handler latency p99 vs ${raw.system} (ratio = baseline/ours)`, unit: 'ms', ours: ours.p99, baseline: raw.p99, ratio: lower(ours.p99, raw.p99) },
  ];
}

const scenario: Scenario = {
  name: 'broker',
  async run(size: Size) {
    const plan = PLAN[size];
    return withPostgres(async (db) => {
      const out: Figure[] = [];
      // `measure` throws unless every published message reached the handler: the count check.
      const rawPg = await measure(rawPgBoss(await db('raw_pgboss')), plan);
      const oursPg = await measure(oursPostgres(await db('ours_pg')), plan);
      out.push(...figures('postgres', oursPg, rawPg));
      const id = randomBytes(4).toString('hex');
      const rawNats = await measure(rawJetStream(NATS_URL, `bench_raw_${id}`), plan);
      const natsDb = await db('ours_nats');
      const stream = `bench_ours_${id}`;
      const oursN = await measure(oursNats(NATS_URL, stream, natsDb), plan);
      await deleteStream(stream);
      out.push(...figures('nats', oursN, rawNats));
      return out;
    });
  },
};
export default scenario;

async function deleteStream(stream: string) {
  const { connect } = await import('nats');
  const nc = await connect({ servers: NATS_URL });
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
  await nc.close();
}
