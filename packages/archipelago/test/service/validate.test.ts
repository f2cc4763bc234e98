import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveService, validateService } from '../../src/service/index.js';
import type { ErrorCode } from '../../src/errors.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'svc-'));
for (const f of ['api.ts', 'worker.ts', 'cron.ts', 'job.ts']) writeFileSync(path.join(root, f), 'export default {};');

const base = () => ({
  name: 'shop',
  units: [
    { name: 'api', kind: 'api', entry: 'api.ts', port: 3000 },
    { name: 'work', kind: 'worker', entry: 'worker.ts', scale: { backlog: 10 } },
  ] as any[],
});

function expectError(input: unknown, code: ErrorCode, ...fragments: string[]) {
  const r = validateService(input, { root });
  const hit = r.errors.find((e) => e.code === code);
  expect(hit, `expected ${code} in ${JSON.stringify(r.errors)}`).toBeDefined();
  for (const f of fragments) expect(hit!.message).toContain(f);
  expect(r.service).toBeUndefined();
}

describe('validateService', () => {
  it('resolves a valid service with defaults and freezes it', () => {
    const s = resolveService(base(), { root });
    expect(s.units[0]).toMatchObject({ kind: 'api', replicas: { min: 1, max: 1 }, graceMs: 30_000, priority: 'critical', health: { liveness: '/healthz', readiness: '/readyz' } });
    expect(s.broker).toEqual({ kind: 'postgres' });
    expect(Object.isFrozen(s.units[0])).toBe(true);
    expect(() => { (s.units as any).push({}); }).toThrow();
  });

  it('rejects an unknown kind, naming the unit', () => {
    const s = base(); s.units.push({ name: 'x', kind: 'lambda', entry: 'api.ts' });
    expectError(s, 'ARCH_E_UNKNOWN_KIND', 'units[2] "x"', 'kind', '"lambda"');
  });
  it('rejects an unknown field', () => {
    const s = base(); s.units[0].replica = 3;
    expectError(s, 'ARCH_E_UNKNOWN_FIELD', 'units[0] "api"', '"replica"');
  });
  it('rejects duplicate unit names', () => {
    const s = base(); s.units.push({ name: 'api', kind: 'worker', entry: 'worker.ts' });
    expectError(s, 'ARCH_E_DUPLICATE_UNIT', 'units[2] "api"', 'units[0]');
  });
  it('rejects duplicate ports', () => {
    const s = base(); s.units.push({ name: 'rt', kind: 'realtime', entry: 'api.ts', port: 3000 });
    expectError(s, 'ARCH_E_DUPLICATE_PORT', 'units[2] "rt"', 'port 3000', '"api"');
  });
  it('rejects names that are not DNS-1123 labels', () => {
    const s = base(); s.units[1].name = 'Work_Queue';
    expectError(s, 'ARCH_E_INVALID_NAME', 'units[1]', 'name', '"Work_Queue"');
  });
  it('rejects malformed quantities', () => {
    const s = base(); s.units[0].resources = { cpu: 'lots', memory: '512Mi' };
    expectError(s, 'ARCH_E_INVALID_QUANTITY', 'units[0] "api"', 'resources.cpu', '"lots"');
    const t = base(); t.units[0].resources = { memory: '512MB' };
    expectError(t, 'ARCH_E_INVALID_QUANTITY', 'resources.memory', '"512MB"');
  });
  it('warns loudly about a CPU request no node can hold', () => {
    const s = base(); s.units[0].resources = { cpu: '300' };
    const r = validateService(s, { root });
    expect(r.errors).toEqual([]);
    expect(r.warnings.find((w) => w.code === 'ARCH_E_INVALID_QUANTITY')?.message).toMatch(/units\[0\] "api": resources.cpu \("300"\) asks for 300 cores.*'300m'/);
  });
  it('rejects min > max', () => {
    const s = base(); s.units[1].replicas = { min: 5, max: 3 };
    expectError(s, 'ARCH_E_REPLICAS_RANGE', 'units[1] "work"', 'replicas.min (5) must be ≤ replicas.max (3)');
  });
  it('rejects a bad cron expression', () => {
    const s = base(); s.units.push({ name: 'nightly', kind: 'cron', entry: 'cron.ts', schedule: '61 * * * *' });
    expectError(s, 'ARCH_E_INVALID_CRON', 'units[2] "nightly"', 'schedule', '"61 * * * *"');
    const t = base(); t.units.push({ name: 'nightly', kind: 'cron', entry: 'cron.ts', schedule: '* * * *' });
    expectError(t, 'ARCH_E_INVALID_CRON', '5-field');
  });
  it('rejects an unknown time zone', () => {
    const s = base(); s.units.push({ name: 'nightly', kind: 'cron', entry: 'cron.ts', schedule: '0 3 * * *', timezone: 'Mars/Olympus' });
    expectError(s, 'ARCH_E_INVALID_TIMEZONE', 'units[2] "nightly"', 'timezone', 'Mars/Olympus');
  });
  it('rejects a missing entry file', () => {
    const s = base(); s.units[1].entry = 'nope.ts';
    expectError(s, 'ARCH_E_ENTRY_NOT_FOUND', 'units[1] "work"', 'entry', 'nope.ts');
  });
  it('rejects a missing entry', () => {
    const s = base(); delete s.units[1].entry;
    expectError(s, 'ARCH_E_MISSING_FIELD', 'units[1] "work"', 'entry');
  });
  it('rejects a scale target the kind cannot use', () => {
    const s = base(); s.units[0].scale = { backlog: 10 };
    expectError(s, 'ARCH_E_SCALE_TARGET', 'units[0] "api"', 'scale.backlog', 'api');
    const t = base(); t.units[1].scale = { backlog: -4 };
    expectError(t, 'ARCH_E_SCALE_TARGET', 'units[1] "work"', 'scale.backlog (-4) must be a positive integer');
    const u = base(); u.units[1].scale = { cpu: 50 };
    expectError(u, 'ARCH_E_SCALE_TARGET', 'scale.cpu', 'worker');
  });
  it('rejects malformed durations', () => {
    const s = base(); s.units[0].grace = '30 seconds';
    expectError(s, 'ARCH_E_INVALID_DURATION', 'units[0] "api"', 'grace', '"30 seconds"');
  });
  it('rejects out-of-range values', () => {
    const s = base(); s.units[0].port = 70000;
    expectError(s, 'ARCH_E_INVALID_VALUE', 'units[0] "api"', 'port (70000)');
    const t = base(); t.units[0].priority = 'urgent';
    expectError(t, 'ARCH_E_INVALID_VALUE', 'priority', '"urgent"');
  });
  it('rejects a worker at zero with nothing to wake it', () => {
    const s = base(); s.units[1].replicas = { min: 0, max: 3 }; delete s.units[1].scale;
    expectError(s, 'ARCH_E_SCALE_TARGET', 'units[1] "work"', 'replicas.min is 0');
  });
  it('rejects an invalid cdc table list', () => {
    const s = base(); s.units.push({ name: 'changes', kind: 'cdc', tables: ['posts; drop table x'] });
    expectError(s, 'ARCH_E_INVALID_VALUE', 'units[2] "changes"', 'tables');
  });
  it('resolves trusted proxies and strict validation by default, and takes addresses, CIDRs and the opt-out', () => {
    expect(resolveService(base(), { root }).units[0]).toMatchObject({ trustProxy: [], validation: 'strict' });
    const s = base(); s.units[0].trustProxy = ['10.0.0.0/8', '192.168.1.7', 'fd00::/8']; s.units[0].validation = 'fastify';
    expect(resolveService(s, { root }).units[0]).toMatchObject({ trustProxy: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8'], validation: 'fastify' });
  });
  it('rejects a trusted proxy that is not an address or CIDR, naming the unit and the entry', () => {
    for (const bad of ['10.0.0.0/33', 'ingress.local', '10.0.0.1/8/2', 'fd00::/129']) {
      const s = base(); s.units[0].trustProxy = ['127.0.0.1', bad];
      expectError(s, 'ARCH_E_INVALID_VALUE', 'units[0] "api"', 'trustProxy[1]', `"${bad}"`);
    }
    const t = base(); t.units[0].trustProxy = '10.0.0.0/8';
    expectError(t, 'ARCH_E_INVALID_VALUE', 'units[0] "api"', 'trustProxy ("10.0.0.0/8") must be an array');
    const w = base(); w.units[1].trustProxy = ['10.0.0.1'];
    expectError(w, 'ARCH_E_UNKNOWN_FIELD', 'units[1] "work"', '"trustProxy"');
  });
  it('rejects an unknown validation mode', () => {
    const s = base(); s.units[0].validation = 'loose';
    expectError(s, 'ARCH_E_INVALID_VALUE', 'units[0] "api"', 'validation ("loose")');
  });
  it('collects every error at once', () => {
    const s = base(); s.units[0].port = 0; s.units[1].replicas = { min: 4, max: 2 }; s.units.push({ name: 'UPPER', kind: 'job', entry: 'job.ts' });
    const r = validateService(s, { root });
    expect(r.errors.map((e) => e.code).sort()).toEqual(['ARCH_E_INVALID_NAME', 'ARCH_E_INVALID_VALUE', 'ARCH_E_REPLICAS_RANGE']);
    expect(() => resolveService(s, { root })).toThrow(/3 errors/);
  });
});
