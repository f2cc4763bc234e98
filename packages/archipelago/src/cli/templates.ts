// File templates for `archipelago add` (a new unit); `init` builds on them (scaffold.ts).
import { TOOLKIT } from '../toolkit.js';

export { TOOLKIT };
export type AddableKind = 'api' | 'worker' | 'realtime' | 'cron' | 'job' | 'cdc';

const PKG = TOOLKIT.name;

export function entryPathFor(kind: AddableKind, name: string): string | undefined {
  if (kind === 'cdc') return undefined;
  return kind === 'cron' ? `src/crons/${name}.ts` : kind === 'job' ? `src/jobs/${name}.ts` : `src/units/${name}.ts`;
}

export function entryTemplate(kind: Exclude<AddableKind, 'cdc'>, name: string): string {
  switch (kind) {
    case 'api':
      return `// The "${name}" API unit: its routes. Replicas share the unit's port; /healthz and /readyz come built in.
import { api } from '${PKG}';

export default api(async (app, ctx) => {
  app.get('/', async () => ({ unit: '${name}', replica: ctx.replica }));
});
`;
    case 'worker':
      return `// The "${name}" worker unit: its subscriptions. Its backlog over them drives its replica count.
import { worker } from '${PKG}';

export default worker({
  subscriptions: [
    // subscribe(someTopic, '${name}-something', async (delivery, ctx) => { ... }),
  ],
});
`;
    case 'realtime':
      return `// The "${name}" real-time unit: WebSocket connections, authenticated per request.
import { realtime } from '${PKG}';

export default realtime({
  path: '/live',
  authenticate: () => ({ anonymous: true }),
  onOpen: (conn) => { conn.send({ hello: '${name}' }); },
});
`;
    case 'cron':
    case 'job':
      return `// The "${name}" ${kind}: one run per ${kind === 'cron' ? 'tick of its schedule' : 'invocation'}, in a fresh process.
import { task } from '${PKG}';

export default task(async (ctx) => {
  const { rows } = await ctx.db.query('SELECT now() AS now');
  ctx.logger.info({ now: rows[0].now, args: ctx.args }, '${name} ran');
});
`;
  }
}

/** The unit object `add` appends to the config's `units` list. */
export function unitLiteral(kind: AddableKind, name: string, port: number | undefined, indent: string, tables: readonly string[] = []): string {
  if (kind === 'cdc') return `${indent}{ name: '${name}', kind: 'cdc', tables: [${tables.map((t) => `'${t}'`).join(', ')}] },`;
  const entry = entryPathFor(kind, name)!;
  const head = `${indent}{ name: '${name}', kind: '${kind}', entry: '${entry}'`;
  switch (kind) {
    case 'api': return `${head}, port: ${port},\n${indent}  replicas: { min: 1, max: 4 }, scale: { cpu: 70 } },`;
    case 'realtime': return `${head}, port: ${port},\n${indent}  replicas: { min: 1, max: 4 }, scale: { connections: 1000 } },`;
    case 'worker': return `${head},\n${indent}  replicas: { min: 0, max: 4 }, scale: { backlog: 100 } },`;
    case 'cron': return `${head}, schedule: '0 * * * *' },`;
    case 'job': return `${head}, runOn: 'manual' },`;
  }
}
