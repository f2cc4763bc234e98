// The broker conformance suite on the nats broker (JetStream at 127.0.0.1:4222, own stream per run).
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createNatsBroker } from '../../src/messaging/index.js';
import { createTestDatabase } from '../support/db.js';
import { runBrokerConformance } from './conformance.js';
import { NATS_URL, requireNats } from './nats-env.js';

const run = await requireNats('conformance.nats.test.ts');
const stream = `conf_${randomBytes(4).toString('hex')}`;
let url = '';

if (run) {
  beforeAll(async () => { url = await createTestDatabase('broker_nats'); });
  afterAll(async () => {
    const nc = await connect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
    await nc.close();
  });
  runBrokerConformance({
    name: 'nats',
    newBroker: async () => createNatsBroker({ url: NATS_URL, stream, databaseUrl: url }),
    childEnv: () => ({ BROKER: 'nats', DATABASE_URL: url, NATS_URL, NATS_STREAM: stream }),
    databaseUrl: () => url,
  });
} else {
  describe('broker conformance: nats', () => { it.skip(`NATS is not reachable at ${NATS_URL}`, () => {}); });
}
