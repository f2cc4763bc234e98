// Trace context through the postgres broker (a fresh database for this file).
import { beforeAll } from 'vitest';
import { createPostgresBroker } from '../../src/messaging/index.js';
import { createTestDatabase } from '../support/db.js';
import { runPropagationSuite } from './propagation.js';

let url = '';
beforeAll(async () => { url = await createTestDatabase('trace_pg'); });

runPropagationSuite({ name: 'postgres', newBroker: async () => createPostgresBroker({ databaseUrl: url }), databaseUrl: () => url });
