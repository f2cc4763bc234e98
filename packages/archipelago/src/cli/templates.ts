// File templates for `archipelago init` (a new service) and `archipelago add` (a new unit).

export type AddableKind = 'api' | 'worker' | 'realtime' | 'cron' | 'job';

export function entryPathFor(kind: AddableKind, name: string): string {
  return kind === 'cron' ? `src/crons/${name}.ts` : kind === 'job' ? `src/jobs/${name}.ts` : `src/units/${name}.ts`;
}

export function entryTemplate(kind: AddableKind, name: string): string {
  switch (kind) {
    case 'api':
      return `// The "${name}" API unit: its routes. Replicas share the unit's port; /healthz and /readyz come built in.
import { api } from 'archipelago';

export default api(async (app, ctx) => {
  app.get('/', async () => ({ unit: '${name}', replica: ctx.replica }));
});
`;
    case 'worker':
      return `// The "${name}" worker unit: its subscriptions. Its backlog over them drives its replica count.
import { worker } from 'archipelago';

export default worker({
  subscriptions: [
    // subscribe(someTopic, '${name}-something', async (delivery, ctx) => { ... }),
  ],
});
`;
    case 'realtime':
      return `// The "${name}" real-time unit: WebSocket connections, authenticated per request.
import { realtime } from 'archipelago';

export default realtime({
  path: '/live',
  authenticate: () => ({ anonymous: true }),
  onOpen: (conn) => { conn.send({ hello: '${name}' }); },
});
`;
    case 'cron':
    case 'job':
      return `// The "${name}" ${kind}: one run per ${kind === 'cron' ? 'tick of its schedule' : 'invocation'}, in a fresh process.
import { task } from 'archipelago';

export default task(async (ctx) => {
  const { rows } = await ctx.db.query('SELECT now() AS now');
  ctx.logger.info({ now: rows[0].now, args: ctx.args }, '${name} ran');
});
`;
  }
}

/** The unit object `add` appends to the config's `units` list. */
export function unitLiteral(kind: AddableKind, name: string, port: number | undefined, indent: string): string {
  const entry = entryPathFor(kind, name);
  const head = `${indent}{ name: '${name}', kind: '${kind}', entry: '${entry}'`;
  switch (kind) {
    case 'api': return `${head}, port: ${port},\n${indent}  replicas: { min: 1, max: 4 }, scale: { cpu: 70 } },`;
    case 'realtime': return `${head}, port: ${port},\n${indent}  replicas: { min: 1, max: 4 }, scale: { connections: 1000 } },`;
    case 'worker': return `${head},\n${indent}  replicas: { min: 0, max: 4 }, scale: { backlog: 100 } },`;
    case 'cron': return `${head}, schedule: '0 * * * *' },`;
    case 'job': return `${head}, runOn: 'manual' },`;
  }
}

export function scaffold(name: string, port: number): Record<string, string> {
  return {
    'package.json': JSON.stringify({
      name, version: '0.1.0', private: true, type: 'module',
      scripts: { start: 'archipelago up', validate: 'archipelago validate', migrate: 'archipelago migrate', test: 'archipelago validate' },
      dependencies: { archipelago: '^0.1.0', zod: '^4.0.0' },
    }, null, 2) + '\n',
    'archipelago.config.ts': `// The service's deployment units. Add one with \`npx archipelago add <kind> <name>\`.
import { defineService } from 'archipelago';

export default defineService({
  name: '${name}',
  units: [
    { name: 'api', kind: 'api', entry: 'src/units/api.ts', port: ${port},
      replicas: { min: 1, max: 4 }, scale: { cpu: 70 } },
    { name: 'worker', kind: 'worker', entry: 'src/units/worker.ts',
      replicas: { min: 0, max: 4 }, scale: { backlog: 100 } },
    { name: 'migrate', kind: 'job', entry: 'src/jobs/migrate.ts', runOn: 'deploy' },
  ],
});
`,
    'src/topics.ts': `// The service's topics: typed, validated on publish and on consume.
import { topic } from 'archipelago';
import { z } from 'zod';

export const noteCreated = topic('note-created', { schema: z.object({ id: z.number(), text: z.string() }) });
`,
    'src/units/api.ts': `// The public API: notes, stored in PostgreSQL; each new note is published for the worker.
import { api, transaction } from 'archipelago';
import { noteCreated } from '../topics.js';

export default api(async (app, ctx) => {
  app.get('/', async () => ({ service: '${name}', replica: ctx.replica }));
  app.get('/notes', async () => (await ctx.db.query('SELECT id, text, seen FROM notes ORDER BY id')).rows);
  app.post<{ Body: { text: string } }>('/notes', async (req, reply) => {
    const note = await transaction(ctx.db, async (tx) => {
      const { rows } = await tx.query('INSERT INTO notes (text) VALUES ($1) RETURNING id, text', [String(req.body?.text ?? '')]);
      await ctx.publish(noteCreated, rows[0], { tx });
      return rows[0];
    });
    return reply.code(201).send(note);
  });
}, { publishes: [noteCreated] });
`,
    'src/units/worker.ts': `// The background worker: marks each new note as seen. Scales from zero on its backlog.
import { subscribe, worker } from 'archipelago';
import { noteCreated } from '../topics.js';

export default worker({
  subscriptions: [
    subscribe(noteCreated, 'mark-seen', async (delivery, ctx) => {
      await ctx.db.query('UPDATE notes SET seen = true WHERE id = $1', [delivery.message.id]);
    }),
  ],
});
`,
    'migrations/001_notes.sql': `CREATE TABLE notes (
  id serial PRIMARY KEY,
  text text NOT NULL,
  seen boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
`,
    'src/jobs/migrate.ts': `// Applies migrations/ before the long-running units start (runOn: 'deploy').
import { migrate, task } from 'archipelago';

export default task(async (ctx) => {
  await migrate(process.env.DATABASE_URL!, ctx.service.migrationsDir, (m) => ctx.logger.info(m));
});
`,
    // .env holds local secrets (read by `archipelago up`): never committed.
    '.gitignore': 'node_modules/\n.archipelago/\ndist/\n.env\n',
    'tsconfig.json': JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true },
      include: ['archipelago.config.ts', 'src'],
    }, null, 2) + '\n',
    'README.md': `# ${name}

A service built with [Archipelago](https://github.com/): one codebase, several deployment units.

\`\`\`sh
npm install
npm start        # archipelago up: embedded PostgreSQL, migrations, every unit
\`\`\`

Then \`curl localhost:${port}/\`, and in another terminal \`npx archipelago status\`.

- \`archipelago.config.ts\` lists the units: \`api\` (HTTP on port ${port}) and \`worker\` (scales from zero on its backlog).
- \`npx archipelago add worker digest\` adds a unit: one object in the list, one new file.
- \`migrations/\` holds SQL files, applied in order by \`npx archipelago migrate\`.
`,
    '.ci/run': `#!/bin/sh
# Continuous integration: install exactly, check the declaration, run the tests.
set -eu
npm ci
npx archipelago validate
npm test
`,
  };
}
