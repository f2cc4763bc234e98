// Malformed requests generated from the service's own OpenAPI document: for every operation, a
// valid baseline and then every way to break it one piece at a time (the body's JSON, its content
// type, each property, each parameter, the token), topped up with random combinations (fast-check,
// fixed seed) to the asked number per route.
import fc from 'fast-check';

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; format?: string; pattern?: string; minLength?: number; minimum?: number; enum?: unknown[]; const?: unknown; default?: unknown };
export interface Operation { method: string; path: string; params: { name: string; in: 'path' | 'query'; schema: Schema }[]; body?: Schema; auth: 'required' | 'optional' | 'none' }
export interface FuzzRequest { what: string; method: string; url: string; headers: Record<string, string>; payload?: string }
export interface Fixtures { postId: string; token: string; expiredToken: string; otherToken: string }

export function operations(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      const security: object[] | undefined = op.security;
      out.push({
        method: method.toUpperCase(), path,
        params: (op.parameters ?? []).filter((p: any) => p.in === 'path' || p.in === 'query'),
        body: op.requestBody?.content?.['application/json']?.schema,
        auth: !security ? 'none' : security.some((s) => Object.keys(s).length === 0) ? 'optional' : 'required',
      });
    }
  }
  return out;
}

let unique = 0;
/** A valid value for a property of this API, by name first (patterns are not generated), else by type. */
function valid(name: string, s: Schema, f: Fixtures): unknown {
  const n = ++unique;
  const byName: Record<string, unknown> = {
    username: `fz_${n}`, email: `fz${n}@example.com`, password: 'fuzz-password', login: `nobody_${n}`, title: `fuzz ${n}`,
    url: 'https://example.com/fuzz', body: 'fuzz body', tags: ['fuzz'], timeZone: 'Europe/Paris', optIn: false, ids: ['1'], all: true,
    id: f.postId, cursor: undefined, limit: 5, unread: true,
  };
  if (name in byName) return byName[name];
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  return type === 'integer' || type === 'number' ? s.minimum ?? 1 : type === 'boolean' ? true : type === 'array' ? [] : type === 'object' ? {} : 'x';
}

function baselineBody(s: Schema, f: Fixtures): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = s.required?.length ? s.required : Object.keys(s.properties ?? {}).slice(0, 1);
  for (const name of names) out[name] = valid(name, s.properties?.[name] ?? {}, f);
  return out;
}

const MB = 'x'.repeat(1 << 20);
/** Values that break a JSON property of any type in some way. */
const BAD_VALUES: [string, unknown][] = [
  ['null', null], ['zero', 0], ['negative', -1], ['float', 1.5], ['huge number', 1e308], ['true', true], ['false', false],
  ['empty string', ''], ['spaces', '   '], ['1 MB string', MB], ['CR/LF', 'a\r\nBcc: x@example.com'], ['NUL', 'a\u0000b'],
  ['bidi override', '\u202egnp.exe'], ['emoji', '🦀'.repeat(50)], ['empty array', []], ['array of strings', ['x', 'y']],
  ['array of numbers', [1, 2]], ['object', { a: 1 }], ['deep', JSON.parse('['.repeat(200) + ']'.repeat(200))],
  ['numeric string', '5'], ['19-digit id string', '9'.repeat(19)], ['array with NUL', ['a\u0000']], ['control chars', '\u0001\u0007\u001b[31m'],
];
const BAD_JSON = ['{', '{"a":', 'nul', '[1,', '{"title":"x",}', "{'a':1}", '\u0000', '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}', '"just a string', '{"a":1}{"b":2}', '\ufeff{}'];
const BAD_TYPES = ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'image/png', ''];
const BAD_IDS = ['0', '-1', 'abc', '1.5', '1e3', '9'.repeat(19), '9'.repeat(101), '%00', '%2e%2e', '%zz', '+1', '%201', '0x10',
  '%D9%A1%D9%A2', '999999999999999999', "1'--", '%0d%0a', 'null', '[]', '1%2F2'];
const BAD_QUERY = ['', 'abc', '-1', '0', '101', '1.5', '%00', 'x'.repeat(10_000), 'true', '[]', '%0d%0a', '1e2', 'null', '%zz'];
const b64 = (s: string) => Buffer.from(s).toString('base64url');
const BAD_CURSORS = ['MXwx', b64('1|9999999999999999999'), b64('Tuesday 12|1'), b64('0000-01-01T00:00:00.000000Z|1'), b64('2026-02-31T00:00:00.000000Z|1'),
  b64('2026-01-01T00:00:00.000000Z|99999999999999999999'), b64('2026-01-01T00:00:00.000000Z'), '%2B%2F', b64('|'), b64('\u0000|\u0000'), 'x'.repeat(201)];

export function badAuth(f: Fixtures): [string, string | undefined][] {
  return [
    ['no token', undefined], ['forged token', `Bearer ak_${'A'.repeat(43)}`], ['expired token', `Bearer ${f.expiredToken}`], ['bare Bearer', 'Bearer'],
    ['Basic', 'Basic dXNlcjpwYXNz'], ['two words', `Bearer ${f.token} extra`], ['long header', `Bearer ${'a'.repeat(4000)}`],
    ['not a token', 'Bearer not-a-token'], ['lowercase scheme', `bearer ${f.token}`], ["another user's token", `Bearer ${f.otherToken}`],
  ];
}

/** At least `perRoute` malformed requests (one valid baseline included) for `op`. */
export function malformed(op: Operation, f: Fixtures, perRoute: number, seed: number): FuzzRequest[] {
  const out: FuzzRequest[] = [];
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const base = {
    ids: Object.fromEntries(pathParams.map((p) => [p.name, f.postId])) as Record<string, string>,
    query: {} as Record<string, string[]>,
    body: op.body ? baselineBody(op.body, f) as unknown : undefined,
    auth: op.auth === 'none' ? undefined : `Bearer ${f.token}` as string | undefined,
    contentType: 'application/json', raw: undefined as string | undefined,
  };
  type Parts = typeof base;
  const make = (what: string, change: Partial<Parts>): FuzzRequest => {
    const p = { ...base, ...change };
    let path = op.path;
    for (const [name, v] of Object.entries(p.ids)) path = path.replace(`{${name}}`, v);
    const qs = Object.entries(p.query).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`)).join('&');
    const headers: Record<string, string> = {};
    if (p.auth !== undefined) headers.authorization = p.auth;
    const payload = p.raw ?? (p.body === undefined ? undefined : JSON.stringify(p.body));
    if (payload !== undefined && p.contentType) headers['content-type'] = p.contentType;
    return { what, method: op.method, url: qs ? `${path}?${qs}` : path, headers, payload };
  };
  out.push(make('valid baseline', {}));

  if (op.body) {
    const props = Object.keys(op.body.properties ?? {});
    for (const raw of BAD_JSON) out.push(make(`invalid JSON ${JSON.stringify(raw)}`, { raw }));
    for (const contentType of BAD_TYPES) out.push(make(`content type "${contentType}"`, { contentType }));
    for (const [what, body] of [['null', null], ['number', 1], ['string', 's'], ['array', []], ['array of the body', [base.body]], ['true', true], ['{}', {}]] as const) {
      out.push(make(`body is ${what}`, { body }));
    }
    for (const name of op.body.required ?? []) {
      const { [name]: _, ...rest } = base.body as Record<string, unknown>;
      out.push(make(`missing ${name}`, { body: rest }));
    }
    for (const extra of ['extra', 'userId', 'id', 'authorId', ...props.map((p) => p.toUpperCase()), ...props.map((p) => p.toLowerCase())]) {
      if (props.includes(extra)) continue;
      out.push(make(`unknown property ${extra}`, { body: { ...(base.body as object), [extra]: 'x' } }));
    }
    for (const name of props) {
      for (const [what, value] of BAD_VALUES) out.push(make(`${name}: ${what}`, { body: { ...(base.body as object), [name]: value } }));
    }
  } else if (op.method !== 'GET') {
    out.push(make('unexpected JSON body', { body: { a: 1 } }), make('unexpected invalid JSON', { raw: '{' }));
  }
  for (const p of pathParams) for (const v of BAD_IDS) out.push(make(`${p.name} = ${v}`, { ids: { ...base.ids, [p.name]: v } }));
  for (const p of queryParams) {
    for (const v of BAD_QUERY) out.push(make(`?${p.name}=${v.slice(0, 20)}`, { query: { [p.name]: [v] } }));
    out.push(make(`?${p.name} twice`, { query: { [p.name]: ['1', '2'] } }));
    if (p.name === 'cursor') for (const c of BAD_CURSORS) out.push(make(`cursor ${c.slice(0, 30)}`, { query: { cursor: [c] } }));
  }
  out.push(make('unknown query parameter', { query: { zzz: ['1'] } }), make('wrong method', {}));
  out[out.length - 1]!.method = op.method === 'GET' ? 'PATCH' : 'PUT';
  if (op.auth !== 'none') for (const [what, auth] of badAuth(f)) out.push(make(`auth: ${what}`, { auth }));

  // Random combinations: each part broken or not, all at once.
  const props = Object.keys(op.body?.properties ?? {});
  const arb = fc.record({
    body: fc.option(fc.dictionary(fc.constantFrom(...(props.length ? props : ['x']), 'extra'), fc.constantFrom(...BAD_VALUES.map(([, v]) => v), ...props.map((p) => valid(p, {}, f)))), { nil: undefined }),
    raw: fc.option(fc.constantFrom(...BAD_JSON), { freq: 6, nil: undefined }),
    id: fc.constantFrom(f.postId, ...BAD_IDS),
    query: fc.dictionary(fc.constantFrom(...queryParams.map((p) => p.name), 'zzz'), fc.array(fc.constantFrom(...BAD_QUERY, ...BAD_CURSORS), { minLength: 1, maxLength: 2 }), { maxKeys: 2 }),
    // Mostly a valid token, so most combinations reach validation rather than stop at the 401.
    auth: fc.oneof({ arbitrary: fc.constant(base.auth), weight: 3 }, { arbitrary: fc.constantFrom(...badAuth(f).map(([, a]) => a)), weight: 1 }),
    contentType: fc.constantFrom('application/json', 'application/json', ...BAD_TYPES),
  });
  const missing = Math.max(0, perRoute - out.length);
  fc.sample(arb, { numRuns: missing, seed: seed + out.length }).forEach((r, i) => {
    out.push(make(`random #${i}`, {
      ids: Object.fromEntries(pathParams.map((p) => [p.name, r.id])), query: r.query, auth: op.auth === 'none' ? r.auth ?? undefined : r.auth,
      body: op.body ? { ...(base.body as object), ...r.body } : undefined, raw: op.body ? r.raw : undefined, contentType: r.contentType,
    }));
  });
  return out;
}
