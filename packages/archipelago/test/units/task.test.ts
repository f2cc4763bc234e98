// Cron and job hosts run as real `archipelago run <unit>` children: the exit code says how the run went.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/db.js';
import { killAll, startReplica } from '../support/replica-process.js';

const CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hosts/archipelago.config.ts');
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('hosts_task');
});
afterAll(() => killAll());

const run = (unit: string, args: string[] = []) =>
  startReplica(['run', unit, '--config', CONFIG, ...(args.length ? ['--', ...args] : [])], { env: { DATABASE_URL: databaseUrl } });

describe.concurrent('task host', () => {
  it('runs a job with its arguments and exits 0', async () => {
    const r = run('job-ok', ['--since', '2026-01-01']);
    expect((await r.exited).code).toBe(0);
    expect(r.logs.find((l) => l.msg === 'task body ran')).toMatchObject({ unit: 'job-ok', args: ['--since', '2026-01-01'], n: 1 });
    expect(r.logs.some((l) => l.msg === 'job succeeded')).toBe(true);
  });

  it('runs a cron body once and exits 0', async () => {
    const r = run('tick');
    expect((await r.exited).code).toBe(0);
    expect(r.logs.find((l) => l.msg === 'task body ran')).toMatchObject({ unit: 'tick', args: [] });
  });

  it('exits 1 with the error logged when the body fails', async () => {
    const r = run('job-fail');
    expect((await r.exited).code).toBe(1);
    const line = r.logs.find((l) => l.msg?.startsWith('job failed'));
    expect(line?.msg).toContain('the backfill could not find its table');
    expect(line?.err?.stack).toContain('task-fail.ts');
  });

  it('aborts the signal at the deadline and exits non-zero without waiting for the body', async () => {
    const r = run('job-slow');
    const { code } = await r.exited;
    expect(code).not.toBe(0);
    expect(r.logs.find((l) => l.code === 'ARCH_E_DEADLINE')?.msg).toContain('deadline of 600 ms');
    expect(r.logs.find((l) => l.msg === 'task saw abort')?.reason).toContain('deadline');
  });

  it('stops a running task on SIGTERM: the body sees the abort, and the exit is non-zero when it is cut', async () => {
    const r = startReplica(['run', 'job-wait', '--config', CONFIG], { env: { DATABASE_URL: databaseUrl, FIXTURE_GRACE: '300ms' } });
    await r.log((l) => l.msg === 'job started');
    r.child.kill('SIGTERM');
    const { code } = await r.exited;
    expect(code).toBe(1);
    expect(r.logs.find((l) => l.msg === 'task saw abort')?.reason).toContain('shutting down');
    expect(r.logs.find((l) => l.code === 'ARCH_E_DRAIN_TIMEOUT')?.msg).toContain('cut the running job');
  });
});
