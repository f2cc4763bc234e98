// The console's HTTP server: static front end, a live server-sent-event stream, and the actions
// (scale, run, replay, purge), each guarded by the per-run token and a same-origin check.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ArchipelagoError, httpStatus, isArchipelagoError, type ErrorCode } from '../errors.js';
import { ensureConsoleBuilt } from './build.js';
import { ConsoleHub } from './hub.js';
import { serveStatic } from './static.js';
import type { ConsoleSource } from './source.js';

export const TOKEN_HEADER = 'x-archipelago-token';

export interface ConsoleOptions {
  readonly source: ConsoleSource;
  readonly port?: number;
  readonly host?: string;
  /** Fixed token (tests); random per run otherwise. */
  readonly token?: string;
  /** Where the URL line goes; default console.log. Pass null to stay quiet. */
  readonly print?: ((line: string) => void) | null;
}

export interface ConsoleHandle {
  readonly url: string;
  readonly origin: string;
  readonly token: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(readonly status: number, readonly code: ErrorCode, message: string) { super(message); }
}

export async function startConsole(opts: ConsoleOptions): Promise<ConsoleHandle> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const distDir = await ensureConsoleBuilt();
  const hub = new ConsoleHub(opts.source, token);
  let allowedHosts = new Set<string>();

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => sendError(res, e));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A page on another name that resolves to 127.0.0.1 (DNS rebinding) must not read the console.
    if (!allowedHosts.has(req.headers.host ?? '')) throw new HttpError(403, 'ARCH_E_CONSOLE_ORIGIN', `host ${req.headers.host ?? '(none)'} is not this console`);
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    if (req.method === 'GET' && !path.startsWith('/api/')) return serveStatic(distDir, path, res);
    if (!path.startsWith('/api/')) throw new HttpError(405, 'ARCH_E_USAGE', `${req.method} ${path} is not allowed`);
    checkToken(req.headers[TOKEN_HEADER] ?? url.searchParams.get('token') ?? undefined);
    if (req.method === 'GET') return get(path, url, req, res);
    if (req.method !== 'POST') throw new HttpError(405, 'ARCH_E_USAGE', `${req.method} is not allowed`);
    checkOrigin(req);
    // Only the header counts for actions: a token in a link's query must not be enough to act.
    checkToken(req.headers[TOKEN_HEADER]);
    const body = await readJson(req);
    return post(path, body, res);
  }

  function checkToken(given: string | string[] | undefined): void {
    if (typeof given !== 'string' || given.length === 0) throw new HttpError(401, 'ARCH_E_CONSOLE_TOKEN', `missing ${TOKEN_HEADER} header`);
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new HttpError(403, 'ARCH_E_CONSOLE_TOKEN', 'wrong console token');
  }

  function checkOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (origin !== undefined) {
      if (origin !== `http://${req.headers.host}`) throw new HttpError(403, 'ARCH_E_CONSOLE_ORIGIN', `cross-origin request from ${origin} refused`);
    } else if (site !== undefined && site !== 'same-origin') {
      throw new HttpError(403, 'ARCH_E_CONSOLE_ORIGIN', `cross-site request (${String(site)}) refused`);
    }
    // Neither header: not a browser (curl, scripts), which the token alone authorises.
  }

  async function get(path: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (path === '/api/stream') return hub.stream(req, res);
    if (path === '/api/state') return sendJson(res, 200, await hub.state());
    if (path === '/api/topics') return sendJson(res, 200, await opts.source.topics());
    if (path === '/api/traces') return sendJson(res, 200, { collecting: opts.source.traces !== undefined, traces: opts.source.traces?.list() ?? [] });
    const t = /^\/api\/traces\/([0-9a-f]{32})$/.exec(path);
    if (t) {
      const view = opts.source.traces?.get(t[1]!);
      if (!view) throw new HttpError(404, 'ARCH_E_USAGE', `no trace ${t[1]} is kept (only the recent ones are)`);
      return sendJson(res, 200, view);
    }
    const m = /^\/api\/dlq\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const sub = decodeURIComponent(m[1]!);
      if (m[2] === undefined) {
        const limit = Math.min(500, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
        return sendJson(res, 200, await opts.source.deadLetters.list(sub, { limit }));
      }
      const dl = await opts.source.deadLetters.get(sub, decodeURIComponent(m[2]));
      if (!dl) throw new HttpError(404, 'ARCH_E_USAGE', `no dead letter ${m[2]} in ${sub}`);
      return sendJson(res, 200, dl);
    }
    throw new HttpError(404, 'ARCH_E_USAGE', `no route ${path}`);
  }

  async function post(path: string, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    let m = /^\/api\/units\/([^/]+)\/scale$/.exec(path);
    if (m) {
      const replicas = body.replicas;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) throw new HttpError(400, 'ARCH_E_INVALID_VALUE', 'replicas must be a non-negative integer');
      await opts.source.scale(decodeURIComponent(m[1]!), replicas);
      hub.changed();
      return sendJson(res, 200, { ok: true });
    }
    m = /^\/api\/(crons|jobs)\/([^/]+)\/run$/.exec(path);
    if (m) {
      const unit = decodeURIComponent(m[2]!);
      const r = await (m[1] === 'crons' ? opts.source.runCron(unit) : opts.source.runJob(unit));
      hub.changed();
      return sendJson(res, 202, r ?? { started: true });
    }
    m = /^\/api\/dlq\/([^/]+)\/(replay|purge)$/.exec(path);
    if (m) {
      const ids = body.ids;
      if (ids !== undefined && (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string'))) throw new HttpError(400, 'ARCH_E_INVALID_VALUE', 'ids must be a list of strings');
      const sub = decodeURIComponent(m[1]!);
      const count = await (m[2] === 'replay' ? opts.source.deadLetters.replay(sub, ids as string[] | undefined) : opts.source.deadLetters.purge(sub, ids as string[] | undefined));
      hub.refreshTopics();
      return sendJson(res, 200, { count });
    }
    throw new HttpError(404, 'ARCH_E_USAGE', `no route ${path}`);
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      reject(e.code === 'EADDRINUSE'
        ? new ArchipelagoError('ARCH_E_CONSOLE_PORT', `port ${host}:${opts.port ?? 4000} is in use; pick another with --console-port <n> or turn the console off with --no-console`)
        : e);
    };
    server.once('error', onError);
    server.listen(opts.port ?? 4000, host, () => { server.off('error', onError); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  allowedHosts = new Set([`${hostPart}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]);
  const origin = `http://${hostPart}:${port}`;
  const url = `${origin}/?token=${token}`;
  hub.start();
  if (opts.print !== null) (opts.print ?? console.log)(`console: ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url, origin, token, port,
    close() {
      closing ??= (async () => {
        hub.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, 'ARCH_E_INVALID_VALUE', 'request body too large');
    chunks.push(c);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'ARCH_E_INVALID_VALUE', 'body must be a JSON object');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}


function sendError(res: ServerResponse, e: unknown): void {
  if (res.headersSent) { res.destroy(); return; }
  if (e instanceof HttpError) return sendJson(res, e.status, { error: { code: e.code, message: e.message } });
  if (isArchipelagoError(e)) return sendJson(res, httpStatus(e.code), { error: { code: e.code, message: e.message } });
  sendJson(res, 500, { error: { code: 'internal', message: (e as Error)?.message ?? String(e) } });
}
