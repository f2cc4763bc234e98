// The broker conformance suite on the in-memory broker.
import { createMemoryBroker, type MemoryBroker } from '../../src/messaging/index.js';
import { runBrokerConformance } from './conformance.js';

// Every "new broker" shares one store, as instances on one database or NATS server would.
let shared: MemoryBroker | undefined;
runBrokerConformance({
  name: 'memory',
  async newBroker() {
    shared ??= createMemoryBroker();
    const b = shared;
    // A view whose close() does not close the shared store, except for the close test's own broker.
    return { ...b, close: async () => {} };
  },
  skip: [
    { reason: 'the memory broker lives in one process', tests: [
      'competing consumers across processes share one subscription and together handle everything',
      'redelivery: a message held by a SIGKILLed consumer process is delivered again',
    ] },
    { reason: 'the memory broker has no database transactions', tests: ['transactional publish: a rolled-back transaction publishes nothing; a committed one delivers'] },
    { reason: 'views share one store whose close is covered by memory.test.ts', tests: ['close is idempotent and a closed broker refuses work with ARCH_E_BROKER'] },
  ],
});
