// Database: embedded PostgreSQL, pools, migrations.
export { startEmbedded, freePort, type EmbeddedDatabase, type EmbeddedOptions } from './embedded.js';
export { createPool, transaction, type Queryable } from './pool.js';
export { migrate, type MigrationResult } from './migrations.js';
export { advisoryLockKey, TOOLKIT_LOCKS } from './locks.js';
