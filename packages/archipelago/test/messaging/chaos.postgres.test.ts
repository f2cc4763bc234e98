// Chaos on the postgres broker: no message is lost or double-counted while consumers are SIGKILLed.
import { afterAll, describe, it } from 'vitest';
import { createPostgresBroker } from '../../src/messaging/index.js';
import type { Broker } from '../../src/messaging/broker.js';
import { createTestDatabase } from '../support/db.js';
import { chaosRun } from './chaos.js';

describe('chaos: postgres broker', () => {
  let broker: Broker | undefined;
  afterAll(async () => { await broker?.close(); });
  it('20,000 messages are each recorded exactly once while consumer processes are SIGKILLed about every second', async () => {
    const url = await createTestDatabase('chaos_pg');
    broker = createPostgresBroker({ databaseUrl: url });
    await broker.init();
    await chaosRun({ broker, databaseUrl: url, childEnv: { BROKER: 'postgres', DATABASE_URL: url }, log: console.log });
  }, 600_000);
});
