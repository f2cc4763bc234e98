// An api unit app over app.inject() on a real, migrated database, with small helpers to call it.
import { apiApp } from 'archipelago-toolkit/testing';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import apiUnit from '../../src/units/api.js';
import { migratedDatabase, unitContext, type TestContext } from './context.js';

type Json = any;
export interface CallOptions { token?: string; body?: unknown; raw?: string; headers?: Record<string, string>; remoteAddress?: string }
export interface Response { status: number; body: Json; headers: Record<string, unknown> }

export interface ApiHarness {
  readonly url: string;
  readonly ctx: TestContext;
  readonly app: FastifyInstance;
  call(method: string, path: string, opts?: CallOptions): Promise<Response>;
  /** Signs a new user up; returns their id, token and name. */
  user(tags?: string[]): Promise<{ id: string; token: string; name: string }>;
  /** Another api replica on the same database (its own pool and app). */
  replica(config?: Record<string, string>): Promise<ApiHarness>;
  close(): Promise<void>;
}

let n = 0;

/** `unit` overrides fields of the declared api unit (`{ trustProxy: ['10.0.0.0/8'] }`). */
export async function apiHarness(config: Record<string, string> = {}, url?: string, unit: Record<string, unknown> = {}): Promise<ApiHarness> {
  const dbUrl = url ?? await migratedDatabase();
  const base = await unitContext(dbUrl, 'api', { config });
  const ctx: TestContext = Object.keys(unit).length ? { ...base, unit: { ...base.unit, ...unit } as TestContext['unit'] } : base;
  const app = await apiApp(apiUnit, ctx);
  const call = async (method: string, path: string, opts: CallOptions = {}): Promise<Response> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.raw !== undefined) headers['content-type'] ??= 'application/json';
    const res = await app.inject({ method: method as 'GET', url: path, headers, payload: opts.raw ?? (opts.body as object | undefined), remoteAddress: opts.remoteAddress });
    return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : undefined) as Json, headers: res.headers };
  };
  const h: ApiHarness = {
    url: dbUrl, ctx, app, call,
    async user(tags = []) {
      const name = `user${++n}_${Math.random().toString(36).slice(2, 7)}`;
      const res = await call('POST', '/auth/signup', { body: { username: name, email: `${name}@example.com`, password: 'correct horse', tags } });
      expect(res.status).toBe(201);
      return { id: res.body.user.id as string, token: res.body.token as string, name };
    },
    replica: (c = config) => apiHarness(c, dbUrl, unit),
    async close() {
      await app.close();
      await ctx.close();
    },
  };
  return h;
}

export function expectError(res: { status: number; body: Json }, status: number, code?: string) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ error: expect.objectContaining({ code: code ?? expect.any(String), message: expect.any(String) }) });
}
