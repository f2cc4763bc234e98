import { defineConfig } from 'vitest/config';

// `source`: the toolkit's package exports point there at its TypeScript, so tests run the sources.
const conditions = ['source', 'node', 'development|production'];

export default defineConfig({
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    globalSetup: ['packages/archipelago/test/support/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
