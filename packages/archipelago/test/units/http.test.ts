// The api host's HTTP setup: strict validation by default (and its opt-out), the JSON error shape
// for every error before and after routing, over a real socket, and trusted proxies.
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareApp } from '../../src/units/http.js';
import { strictSchema } from '../../src/units/validation.js';
import { rawRequest as raw } from '../../src/testing/raw-http.js';

const schema = {
  body: {
    type: 'object', required: ['title'],
    properties: {
      title: { type: 'string', format: 'single-line', maxLength: 300 }, count: { type: 'integer' }, optIn: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string' } }, note: { type: ['string', 'null'] }, raw: { type: 'string', 'x-allow-nul': true },
    },
  },
  querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, default: 20 }, unread: { type: 'boolean' }, cursor: { type: 'string' } } },
  params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]+$' } } },
} as const;

function build(opts: { validation?: 'strict' | 'fastify'; trustProxy?: string[] } = {}): FastifyInstance {
  const app = createBareApp({ validation: opts.validation ?? 'strict', trustProxy: opts.trustProxy ?? [] }, { logger: false, bodyLimit: 1024 });
  app.post('/things/:id', { schema }, async (req) => ({ body: req.body, query: req.query, params: req.params }));
  app.get('/ip', async (req) => ({ ip: req.ip }));
  app.get('/version', { schema: { headers: { type: 'object', properties: { 'x-version': { type: 'integer' } } } } }, async (req) => ({ v: req.headers['x-version'] }));
  app.get('/boom', async () => { throw new Error('password=hunter2'); });
  return app;
}

const post = (app: FastifyInstance, payload: unknown, query = '') =>
  app.inject({ method: 'POST', url: `/things/7${query}`, payload: payload as object }).then((r) => ({ status: r.statusCode, body: r.json() }));

describe('strict validation (the default)', () => {
  const app = build();
  afterAll(() => app.close());

  it('takes a valid body as sent and fills query defaults', async () => {
    const r = await post(app, { title: 'hello', count: 2, tags: ['a'], note: null });
    expect(r).toEqual({ status: 200, body: { body: { title: 'hello', count: 2, tags: ['a'], note: null }, query: { limit: 20 }, params: { id: '7' } } });
  });

  it('never coerces a JSON body: numbers, arrays and nulls for strings or booleans are 400, naming the field', async () => {
    for (const [payload, field] of [
      [{ title: 5 }, 'body.title'], [{ title: ['x'] }, 'body.title'], [{ title: 'x', optIn: null }, 'body.optIn'],
      [{ title: 'x', optIn: 'true' }, 'body.optIn'], [{ title: 'x', count: '3' }, 'body.count'], [{ title: null }, 'body.title'],
    ] as const) {
      const r = await post(app, payload);
      expect(r.status, JSON.stringify(payload)).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field });
      expect(r.body.error.message).toContain(field);
    }
  });

  it('refuses unknown properties, naming them, in the body and in the query', async () => {
    const r = await post(app, { title: 'x', Title: 'y' });
    expect(r).toEqual({ status: 400, body: { error: { code: 'VALIDATION_FAILED', field: 'body.Title', message: 'body.Title is not a known property' } } });
    const q = await post(app, { title: 'x' }, '?limitt=3');
    expect(q.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'querystring.limitt' });
  });

  it('refuses control characters in single-line text and NUL in any string unless allowed', async () => {
    for (const title of ['a\r\nBcc: x', 'tab\there', 'nul\u0000', 'del\u007f', 'line\u2028sep']) {
      const r = await post(app, { title });
      expect(r.status, JSON.stringify(title)).toBe(400);
      expect(r.body.error.field).toBe('body.title');
    }
    const nul = await post(app, { title: 'x', tags: ['ok', 'n\u0000'] });
    expect(nul.body.error).toMatchObject({ field: 'body.tags[1]', message: 'body.tags[1] must not contain a NUL character' });
    expect((await post(app, { title: 'x', note: 'two\nlines' })).status).toBe(200);
    expect((await post(app, { title: 'x', raw: 'bytes\u0000kept' })).body.body.raw).toBe('bytes\u0000kept');
    const q = await post(app, { title: 'x' }, '?cursor=%00');
    expect(q.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'querystring.cursor' });
  });

  it('parses query and path parameters by the schema: a malformed one is 400 with the field named', async () => {
    expect((await post(app, { title: 'x' }, '?limit=5&unread=true')).body.query).toEqual({ limit: 5, unread: true });
    for (const [query, field] of [['?limit=abc', 'querystring.limit'], ['?limit=', 'querystring.limit'], ['?limit=1&limit=2', 'querystring.limit'],
      ['?limit=0', 'querystring.limit'], ['?unread=maybe', 'querystring.unread']] as const) {
      const r = await post(app, { title: 'x' }, query);
      expect(r.status, query).toBe(400);
      expect(r.body.error.field).toBe(field);
    }
    const p = await app.inject({ method: 'POST', url: '/things/abc', payload: { title: 'x' } });
    expect(p.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'params.id' });
  });

  it('checks declared headers without refusing the others every request carries', async () => {
    const ok = await app.inject({ method: 'GET', url: '/version', headers: { 'x-version': '3', 'user-agent': 'test' } });
    expect(ok.json()).toEqual({ v: 3 });
    const bad = await app.inject({ method: 'GET', url: '/version', headers: { 'x-version': 'three' } });
    expect(bad.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'headers.x-version' });
  });

  it('closes only objects that say nothing about other properties, and leaves combinations open', () => {
    const s = strictSchema({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'object', additionalProperties: true, properties: {} } },
      allOf: [{ properties: { c: {} } }] }) as any;
    expect(s.additionalProperties).toBeUndefined();
    expect(s.properties.b.additionalProperties).toBe(true);
    expect(s.allOf[0].additionalProperties).toBeUndefined();
    expect(s.properties.a['x-allow-nul']).toBe(false);
    expect((strictSchema({ type: 'object', properties: {} }) as any).additionalProperties).toBe(false);
  });
});

describe("validation: 'fastify' (the opt-out)", () => {
  const app = build({ validation: 'fastify' });
  afterAll(() => app.close());

  it("keeps Fastify's defaults: bodies coerced, unknown properties let through", async () => {
    const r = await post(app, { title: 5, optIn: null, extra: 1 });
    expect(r).toEqual({ status: 200, body: expect.objectContaining({ body: { title: '5', optIn: false, extra: 1 } }) });
    // The toolkit's text rules still hold.
    expect((await post(app, { title: 'a\nb' })).body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body.title' });
  });
});

describe('errors before and after routing, over a real socket', () => {
  const app = build();
  let port = 0;
  beforeAll(async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as net.AddressInfo).port;
  });
  afterAll(() => app.close());

  const cases: [string, string | Buffer, number, string][] = [
    ['headers too large', `GET /ip HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['a path parameter over maxParamLength', `POST /things/${'1'.repeat(200)} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, 414, 'URI_TOO_LONG'],
    ['a URL that does not decode', 'GET /things/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'BAD_URL'],
    ['a malformed Content-Length', 'POST /things/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}', 400, 'BAD_REQUEST'],
    ['an unknown method', 'FOO /ip HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'METHOD_NOT_ALLOWED'],
    ['a header line without a colon', 'GET /ip HTTP/1.1\r\nHost x\r\n\r\n', 400, 'BAD_REQUEST'],
    ['an unknown route', 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 404, 'NOT_FOUND'],
    ['invalid JSON', 'POST /things/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{"title":', 400, 'MALFORMED_JSON'],
    ['an empty JSON body', 'POST /things/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', 400, 'MALFORMED_JSON'],
    ['the wrong content type', 'POST /things/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 4\r\nConnection: close\r\n\r\n<a/>', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a body over the limit', `POST /things/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n{"title":"${'x'.repeat(1986)}"}`, 413, 'PAYLOAD_TOO_LARGE'],
    ['a handler that throws', 'GET /boom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 500, 'INTERNAL'],
  ];
  it.each(cases)('answers %s with a JSON error and a code', async (_name, request, status, code) => {
    const r = await raw(port, request);
    expect(r.status).toBe(status);
    expect(r.headers.toLowerCase()).toContain('content-type: application/json');
    expect(r.body).toEqual({ error: { code, message: expect.any(String) } });
    expect(r.body.error.message).not.toContain('hunter2');
  });
});

describe('trusted proxies', () => {
  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    const ask = async (app: FastifyInstance) => (await app.inject({ method: 'GET', url: '/ip', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': '203.0.113.9' } })).json().ip;
    const none = build(), trusted = build({ trustProxy: ['10.0.0.0/8'] }), other = build({ trustProxy: ['192.168.0.1'] });
    try {
      expect(await ask(none)).toBe('10.1.2.3');
      expect(await ask(trusted)).toBe('203.0.113.9');
      expect(await ask(other)).toBe('10.1.2.3');
    } finally {
      await Promise.all([none.close(), trusted.close(), other.close()]);
    }
  });
});
