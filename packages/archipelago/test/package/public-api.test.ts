// The public entry points export what users need and nothing else: a new export is a decision
// (add it here and to the README), never an accident of a barrel file.
import { describe, expect, it } from 'vitest';

const PLANNED = {
  '.': [
    'ALLOW_NUL', 'ArchipelagoError', 'SINGLE_LINE', 'advisoryLockKey', 'api', 'broadcast', 'changeTopic', 'codes', 'createPool',
    'defineService', 'defineUnit', 'isArchipelagoError', 'loadService', 'migrate', 'parseDuration', 'realtime', 'resolveService',
    'subscribe', 'task', 'topic', 'transaction', 'unitByName', 'validateService', 'worker',
  ],
} as const;

describe('public exports', () => {
  it('the main entry exports exactly the planned names', async () => {
    const mod = await import('../../src/index.js');
    expect(Object.keys(mod).sort()).toEqual([...PLANNED['.']].sort());
  });
  it('the main entry does not leak internals of the catalog or the brokers', async () => {
    const mod = await import('../../src/index.js') as Record<string, unknown>;
    for (const name of ['loadCatalog', 'loadDefinition', 'subscriptionSpec', 'SUBSCRIPTION_DEFAULTS', 'changeTopicName', 'importConfig', 'createPostgresBroker']) {
      expect(mod[name], name).toBeUndefined();
    }
  });
});
