// Issue 14, finding 4: behind an ingress every client used to share the proxy's address, so one
// client could lock everyone out of login. The limit keys on the client address a trusted proxy
// forwards, and login is also limited per account name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiHarness, type ApiHarness } from './support/api.js';

const PROXY = '10.0.0.5';
let h: ApiHarness;
beforeAll(async () => {
  h = await apiHarness({ AUTH_RATE_LIMIT: '3', LOGIN_ACCOUNT_RATE_LIMIT: '4' }, undefined, { trustProxy: ['10.0.0.0/8'] });
});
afterAll(() => h?.close());

const login = (name: string, client: string, remoteAddress = PROXY) =>
  h.call('POST', '/auth/login', { body: { login: name, password: 'wrong horse' }, remoteAddress, headers: { 'x-forwarded-for': client } });

describe('auth rate limits', () => {
  it('counts each client behind a trusted proxy on its own', async () => {
    await h.ctx.db.query('DELETE FROM rate_limits');
    const flood = [];
    for (let i = 0; i < 5; i++) flood.push((await login(`victim${i}`, '203.0.113.1')).status);
    expect(flood).toEqual([401, 401, 401, 429, 429]);
    // Another client through the same proxy is not locked out by the first one.
    expect((await login('someone', '203.0.113.2')).status).toBe(401);
    const keys = (await h.ctx.db.query(`SELECT key, hits FROM rate_limits WHERE key LIKE 'POST %' ORDER BY key`)).rows;
    expect(keys).toEqual([{ key: 'POST /auth/login:203.0.113.1', hits: 5 }, { key: 'POST /auth/login:203.0.113.2', hits: 1 }]);
  });

  it('does not believe X-Forwarded-For from an address that is not a trusted proxy', async () => {
    await h.ctx.db.query('DELETE FROM rate_limits');
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(`x${i}`, `198.51.100.${i}`, '192.0.2.77')).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('limits login attempts per account name, from however many addresses', async () => {
    await h.ctx.db.query('DELETE FROM rate_limits');
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await login(i % 2 ? 'Target' : 'target', `203.0.113.${10 + i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    const res = await login('target', '203.0.113.99');
    expect(res.body.error).toMatchObject({ code: 'RATE_LIMITED' });
    // Other accounts still answer.
    expect((await login('other', '203.0.113.98')).status).toBe(401);
  });
});
