// Chaos on the nats broker: no message is lost or double-counted while consumers are SIGKILLed.
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { afterAll, describe, it } from 'vitest';
import { createNatsBroker } from '../../src/messaging/index.js';
import type { Broker } from '../../src/messaging/broker.js';
import { createTestDatabase } from '../support/db.js';
import { chaosRun } from './chaos.js';
import { NATS_URL, requireNats } from './nats-env.js';

const run = await requireNats('chaos.nats.test.ts');
const stream = `chaos_${randomBytes(4).toString('hex')}`;

describe('chaos: nats broker', () => {
  let broker: Broker | undefined;
  afterAll(async () => {
    await broker?.close();
    if (!run) return;
    const nc = await connect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
    await nc.close();
  });
  it.runIf(run)('20,000 messages are each recorded exactly once while consumer processes are SIGKILLed about every second', async () => {
    const url = await createTestDatabase('chaos_nats');
    broker = createNatsBroker({ url: NATS_URL, stream, databaseUrl: url });
    await broker.init();
    await chaosRun({ broker, databaseUrl: url, childEnv: { BROKER: 'nats', DATABASE_URL: url, NATS_URL, NATS_STREAM: stream }, log: console.log });
  }, 600_000);
});
