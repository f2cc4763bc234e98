// The broker conformance suite on the postgres broker (a fresh database for this file).
import { beforeAll } from 'vitest';
import { createPostgresBroker } from '../../src/messaging/index.js';
import { createTestDatabase } from '../support/db.js';
import { runBrokerConformance } from './conformance.js';

let url = '';
beforeAll(async () => { url = await createTestDatabase('broker_pg'); });

runBrokerConformance({
  name: 'postgres',
  newBroker: async () => createPostgresBroker({ databaseUrl: url }),
  childEnv: () => ({ BROKER: 'postgres', DATABASE_URL: url }),
  databaseUrl: () => url,
});
