// The hosts' pure pieces, without processes: config filtering, error bodies, the request meter,
// and the replica lifecycle's shutdown decisions.
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ResolvedUnit } from '../../src/service/types.js';
import { unitConfig } from '../../src/units/context.js';
import { errorBody } from '../../src/units/http.js';
import { Meter } from '../../src/units/process-metrics.js';
import { Replica, type Host } from '../../src/units/replica.js';
import type { OwnedContext } from '../../src/units/context.js';

const unit = { name: 'api', kind: 'api', port: 3000, env: { GREETING: 'hi', NODE_ENV: 'production' }, secrets: ['STRIPE_KEY', 'MISSING'] } as unknown as ResolvedUnit;

describe('unitConfig', () => {
  it('holds the unit env, its declared secrets and toolkit variables, and nothing else', () => {
    const config = unitConfig(unit, { STRIPE_KEY: 'sk', OTHER_SECRET: 'no', PATH: '/bin', NODE_ENV: 'development', ARCHIPELAGO_REPLICA: 'api-1' }, 'postgres://db');
    expect(config).toEqual({ GREETING: 'hi', NODE_ENV: 'production', STRIPE_KEY: 'sk', DATABASE_URL: 'postgres://db', PORT: '3000', ARCHIPELAGO_REPLICA: 'api-1' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.hasOwn(config, 'MISSING')).toBe(false);
  });
});

describe('errorBody', () => {
  it('names validation failures, hides unexpected 5xx messages and keeps chosen codes', () => {
    expect(errorBody(400, { validation: [], message: 'body must have name' } as never)).toEqual({ error: { code: 'VALIDATION_FAILED', message: 'body must have name' } });
    expect(errorBody(500, { message: 'password=hunter2' })).toEqual({ error: { code: 'INTERNAL', message: 'internal server error' } });
    expect(errorBody(409, { statusCode: 409, code: 'ALREADY_EXISTS', message: 'taken' })).toEqual({ error: { code: 'ALREADY_EXISTS', message: 'taken' } });
    expect(errorBody(413, { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: 'too large' })).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'too large' } });
  });
});

describe('Meter', () => {
  it('tracks in-flight work, resolves when idle, and reports rate and p99 per window', async () => {
    const m = new Meter(new Registry(), 'http_requests');
    const starts = Array.from({ length: 100 }, () => m.start());
    expect(m.inFlight).toBe(100);
    let idle = false;
    void m.whenIdle().then(() => { idle = true; });
    for (const s of starts) m.end(s, '200');
    await Promise.resolve();
    expect(idle).toBe(true);
    expect(m.handled).toBe(100);
    const w = m.take();
    expect(w.requestRate).toBeGreaterThan(0);
    expect(w.p99Ms).toBeGreaterThanOrEqual(0);
    expect(m.take()).toEqual({ requestRate: 0, p99Ms: 0 });
  });
});

function fakeHost(drain: (deadline: number) => Promise<string[]>, failed = false): Host {
  return { unit: 'x', ready: () => true, load: () => ({ inFlight: 0, connections: 0, handled: 0 }), drain, close: async () => {}, failed: () => failed };
}
function fakeContext(): OwnedContext & { aborted: boolean; closed: boolean } {
  const c = { metrics: new Registry(), aborted: false, closed: false, abort() { c.aborted = true; }, async close() { c.closed = true; } };
  return c as never;
}
function capture() {
  const lines: any[] = [];
  const logger = pino({}, new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk))); cb(); } }));
  return { logger, lines };
}

describe('Replica shutdown', () => {
  it('turns readiness off first, aborts contexts, closes them and exits 0 after a clean drain', async () => {
    const { logger } = capture();
    const exits: number[] = [];
    const r = new Replica({ logger, graceMs: 1000, exit: (c) => exits.push(c) });
    const ctx = fakeContext();
    let readyDuringDrain: boolean | undefined;
    r.add(fakeHost(async () => { readyDuringDrain = r.isReady(); return []; }), ctx);
    expect(r.isReady()).toBe(true);
    const [a, b] = [r.shutdown('SIGTERM'), r.shutdown('SIGINT')];
    expect(await a).toBe(0);
    expect(await b).toBe(0);
    expect(readyDuringDrain).toBe(false);
    expect(ctx.aborted && ctx.closed).toBe(true);
    expect(exits).toEqual([0]);
  });

  it('exits 1 with one line listing what was cut when grace runs out', async () => {
    const { logger, lines } = capture();
    const exits: number[] = [];
    const r = new Replica({ logger, graceMs: 50, exit: (c) => exits.push(c) });
    r.add(fakeHost(async () => ['3 in-flight requests']), fakeContext());
    r.add(fakeHost(async () => ['2 connections']), fakeContext());
    expect(await r.shutdown('SIGTERM')).toBe(1);
    const cut = lines.filter((l) => l.code === 'ARCH_E_DRAIN_TIMEOUT');
    expect(cut).toHaveLength(1);
    expect(cut[0].msg).toBe('grace of 50 ms ran out: cut 3 in-flight requests, 2 connections');
    expect(exits).toEqual([1]);
  });

  it('exits 1 after a clean drain when a host reports failed work', async () => {
    const exits: number[] = [];
    const r = new Replica({ logger: capture().logger, graceMs: 50, exit: (c) => exits.push(c) });
    r.add(fakeHost(async () => [], true), fakeContext());
    expect(await r.shutdown('SIGTERM')).toBe(1);
  });
});
