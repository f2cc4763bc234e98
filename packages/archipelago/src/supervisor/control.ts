// The control endpoint: JSON over HTTP on a unix socket (`.archipelago/control.sock`, mode 0600), so
// only this machine's user reaches it. `status`, `scale`, `cron run` and `job run` speak to it.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ArchipelagoError, codes as CODES, httpStatus, isArchipelagoError, type ErrorCode } from '../errors.js';
import { stateDir } from './paths.js';
import type { LogLine, ScaleSample, StatusSnapshot } from './state.js';

export function controlSocket(root: string): string {
  return path.join(stateDir(root), 'control.sock');
}

export interface ScaleResult { unit: string; from: number; to: number }
export interface CronRunResult { started: boolean; run?: string; reason?: string }

export interface ControlHandlers {
  status(): StatusSnapshot;
  scale(unit: string, replicas: number): ScaleResult | Promise<ScaleResult>;
  cronRun(name: string, args?: readonly string[]): CronRunResult | Promise<CronRunResult>;
  jobRun(name: string, args: string[]): Promise<{ run: string; code: number | null; outcome: string }>;
  logs(limit: number): LogLine[];
  /** The autoscaler's recorded rounds for a unit, oldest first. */
  samples?(unit: string): ScaleSample[];
}


export async function startControlServer(root: string, h: ControlHandlers): Promise<{ path: string; close(): Promise<void> }> {
  const sock = controlSocket(root);
  // Searchable by others: as root, embedded PostgreSQL runs as another user under this folder.
  mkdirSync(stateDir(root), { recursive: true, mode: 0o755 });
  if (existsSync(sock)) {
    if (await reachable(sock)) throw new ArchipelagoError('ARCH_E_SUPERVISOR_RUNNING', `a supervisor already runs for this service (${sock})`);
    rmSync(sock, { force: true }); // left by a supervisor that was killed
  }
  const server = http.createServer((req, res) => {
    void handle(req, h).then(
      (body) => send(res, 200, body),
      (e: unknown) => isArchipelagoError(e)
        ? send(res, httpStatus(e.code), { error: { code: e.code, message: e.message } })
        : send(res, 500, { error: { code: 'INTERNAL', message: String(e) } }),
    );
  });
  // Restrict the socket before anyone can connect: create it under a umask that leaves only the owner.
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(sock, () => resolve()); });
  } finally {
    process.umask(old);
  }
  chmodSync(sock, 0o600);
  let closed: Promise<void> | undefined;
  return {
    path: sock,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        rmSync(sock, { force: true });
      });
      return closed;
    },
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let data = '';
  for await (const chunk of req) data += String(chunk);
  if (!data) return {};
  try { return JSON.parse(data) as Record<string, unknown>; } catch { throw new ArchipelagoError('ARCH_E_USAGE', 'the request body is not JSON'); }
}

async function handle(req: http.IncomingMessage, h: ControlHandlers): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /status': return h.status();
    case 'GET /logs': return { lines: h.logs(Number(url.searchParams.get('limit') ?? 200)) };
    case 'GET /samples': return { samples: h.samples?.(url.searchParams.get('unit') ?? '') ?? [] };
    case 'POST /scale': {
      const b = await readBody(req);
      if (typeof b.unit !== 'string' || !Number.isInteger(b.replicas)) throw new ArchipelagoError('ARCH_E_USAGE', 'POST /scale needs { unit, replicas }');
      return h.scale(b.unit, b.replicas as number);
    }
    case 'POST /cron/run': {
      const b = await readBody(req);
      if (typeof b.name !== 'string') throw new ArchipelagoError('ARCH_E_USAGE', 'POST /cron/run needs { name, args? }');
      return h.cronRun(b.name, Array.isArray(b.args) ? b.args.map(String) : []);
    }
    case 'POST /job/run': {
      const b = await readBody(req);
      if (typeof b.name !== 'string') throw new ArchipelagoError('ARCH_E_USAGE', 'POST /job/run needs { name, args? }');
      return h.jobRun(b.name, Array.isArray(b.args) ? b.args.map(String) : []);
    }
    default: throw new ArchipelagoError('ARCH_E_USAGE', `no route ${route}`);
  }
}

function reachable(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: sock, path: '/status', timeout: 1000 }, (res) => { res.resume(); resolve(true); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

/** Calls the running supervisor of the service at `root`. */
export function control<T>(root: string, method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
  const sock = controlSocket(root);
  return new Promise<T>((resolve, reject) => {
    const unreachable = () => reject(new ArchipelagoError('ARCH_E_SUPERVISOR_UNREACHABLE', `no supervisor is running for the service in ${root} (start one with \`archipelago up\`)`));
    if (!existsSync(sock)) return unreachable();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ socketPath: sock, path: route, method, headers: payload ? { 'content-type': 'application/json' } : {} }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { data += c; });
      res.on('end', () => {
        let parsed: unknown;
        try { parsed = JSON.parse(data); } catch { return reject(new Error(`bad answer from the supervisor: ${data.slice(0, 200)}`)); }
        const err = (parsed as { error?: { code: string; message: string } }).error;
        if (res.statusCode !== 200 && err) {
          return reject(err.code in CODES ? new ArchipelagoError(err.code as ErrorCode, err.message) : new Error(err.message));
        }
        resolve(parsed as T);
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? unreachable() : reject(e)));
    if (payload) req.write(payload);
    req.end();
  });
}
