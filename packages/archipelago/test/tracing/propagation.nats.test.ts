// Trace context through the nats broker: NATS headers, the `{ tx }` outbox, core-NATS broadcasts
// (JetStream at 127.0.0.1:4222, a stream of its own; under CI=true a missing NATS fails).
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createNatsBroker } from '../../src/messaging/index.js';
import { NATS_URL, requireNats } from '../messaging/nats-env.js';
import { createTestDatabase } from '../support/db.js';
import { runPropagationSuite } from './propagation.js';

const run = await requireNats('propagation.nats.test.ts');
const stream = `trace_${randomBytes(4).toString('hex')}`;
let url = '';

if (run) {
  beforeAll(async () => { url = await createTestDatabase('trace_nats'); });
  afterAll(async () => {
    const nc = await connect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
    await nc.close();
  });
  runPropagationSuite({ name: 'nats', newBroker: async () => createNatsBroker({ url: NATS_URL, stream, databaseUrl: url }), databaseUrl: () => url });
} else {
  describe('trace context through the nats broker', () => { it.skip(`NATS is not reachable at ${NATS_URL}`, () => {}); });
}
