// The architecture of ../shared/DESIGN.md as rules `npm run lint` checks (dependency-cruiser):
// no import cycles; units/ never imports supervisor/; scaling/ and synth/ stay pure (no database,
// broker, process or unit-host code); the reference service reaches the toolkit only through its
// public entry points; the CLI is the only folder that may import every other.
const SRC = '^packages/archipelago/src/';
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make load order matter and folders impossible to understand alone.',
      from: { path: SRC },
      to: { circular: true },
    },
    {
      name: 'units-not-supervisor',
      severity: 'error',
      comment: 'A unit host runs the same in a pod and under `archipelago up`: it never reaches into the local supervisor.',
      from: { path: `${SRC}units/` },
      to: { path: `${SRC}supervisor/` },
    },
    {
      name: 'pure-scaling',
      severity: 'error',
      comment: 'scaling/ is replica arithmetic shared by the supervisor and synth: it imports only the service model\'s types and quantities.',
      from: { path: `${SRC}scaling/` },
      to: { path: SRC, pathNot: [`${SRC}scaling/`, `${SRC}service/(types|quantity|kinds)\\.ts$`, `${SRC}errors\\.ts$`, `${SRC}contracts\\.ts$`], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'pure-synth',
      severity: 'error',
      comment: 'synth/ turns a resolved service into objects: no database, broker, supervisor, unit-host or CDC code (the Pulumi component alone loads a service, see pulumi.ts).',
      from: { path: `${SRC}synth/`, pathNot: `${SRC}synth/pulumi\\.ts$` },
      to: { path: `${SRC}(database|supervisor|units|cdc|cli|console|messaging/brokers)/`, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'pure-synth-no-clients',
      severity: 'error',
      comment: 'synth/ never loads the PostgreSQL or NATS clients.',
      from: { path: `${SRC}synth/` },
      to: { path: 'node_modules/(pg|pg-pool|nats)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'app-api-public-entries',
      severity: 'error',
      comment: 'The reference service is a consumer like any other: it imports archipelago-toolkit, /testing, /synth and /pulumi, nothing inside.',
      from: { path: '^services/app-api/' },
      to: { path: '^packages/archipelago/', pathNot: '^packages/archipelago/(src/index\\.ts|src/testing/index\\.ts|src/synth/index\\.ts|src/synth/pulumi\\.ts|package\\.json|dist/)' },
    },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'cli/ is the top layer: nothing else imports it (the bin launcher loads it by path).',
      from: { path: SRC, pathNot: `${SRC}cli/` },
      to: { path: `${SRC}cli/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|\\.archipelago)/|/test/fixtures/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['source', 'import', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
