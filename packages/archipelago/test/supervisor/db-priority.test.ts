// A background unit's PostgreSQL backends get the unit's nice value (on a server on this machine):
// and SCHED_IDLE: its queries no longer compete with the API's on equal terms. The API's backends
// are left alone.
import os from 'node:os';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveService } from '../../src/service/validate.js';
import { applyBackendPriorities } from '../../src/supervisor/db-priority.js';
import { schedulingPolicy } from '../../src/supervisor/sched.js';
import { createTestDatabase } from '../support/db.js';
import { niceOf } from './helpers.js';


const clients: pg.Client[] = [];
afterAll(async () => { for (const c of clients) await c.end().catch(() => {}); });

describe('database priorities', () => {
  it("renices the backends of background and normal units, not the API's", async () => {
    const url = await createTestDatabase('dbprio');
    const service = resolveService({ name: 'shop', units: [
      { name: 'web', kind: 'api', entry: 'web.ts', port: 3000 },
      { name: 'mail', kind: 'worker', entry: 'mail.ts', priority: 'background' },
      { name: 'mailer', kind: 'worker', entry: 'mailer.ts' },
    ] });
    const backend = async (app: string) => {
      const c = new pg.Client({ connectionString: url, application_name: app });
      await c.connect();
      clients.push(c);
      return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    };
    const web = await backend('shop/web-1'), mail = await backend('shop/mail-2'), mailer = await backend('shop/mailer-1'), other = await backend('other/mail-1');
    const before = { web: niceOf(web), mail: niceOf(mail), mailer: niceOf(mailer), other: niceOf(other) };
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    clients.push(admin);
    const done = new Map<number, number>();
    expect(await applyBackendPriorities(admin, service, done)).toBe(2);
    const base = os.getPriority();
    expect(niceOf(mail)).toBe(Math.min(19, Math.max(before.mail, base + 10)));
    expect(niceOf(mailer)).toBe(Math.min(19, Math.max(before.mailer, base + 5)));
    // The longest unit name wins ("mailer-1" is not unit "mail"), the API and other services stay.
    expect(niceOf(mailer)).not.toBe(niceOf(mail));
    expect(niceOf(web)).toBe(before.web);
    expect(niceOf(other)).toBe(before.other);
    // A background unit's backends also run under SCHED_IDLE (sched.ts); the others keep the default.
    expect(await schedulingPolicy(mail)).toBe('SCHED_IDLE');
    expect(await schedulingPolicy(mailer)).toBe('SCHED_OTHER');
    expect(await schedulingPolicy(web)).toBe('SCHED_OTHER');
    // Once per backend.
    expect(await applyBackendPriorities(admin, service, done)).toBe(0);
  });
});
