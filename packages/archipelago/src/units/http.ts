// The Fastify setup api and realtime hosts share: JSON errors, health and metrics routes, request
// metering, and 503s for new requests while the replica drains.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { ResolvedListening } from '../service/types.js';
import type { OwnedContext } from './context.js';
import type { Meter } from './metrics.js';
import { DRAINING_BODY, type Replica } from './replica.js';

export interface ErrorBody { error: { code: string; message: string } }

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE', 422: 'UNPROCESSABLE', 429: 'TOO_MANY_REQUESTS', 503: 'UNAVAILABLE',
};

export function errorBody(status: number, err: Partial<FastifyError>): ErrorBody {
  if (err.validation) return { error: { code: 'VALIDATION_FAILED', message: err.message ?? 'invalid request' } };
  // A 5xx the code did not choose deliberately is a bug: its message may leak internals.
  if (status >= 500 && !err.statusCode) return { error: { code: 'INTERNAL', message: 'internal server error' } };
  const code = typeof err.code === 'string' && !err.code.startsWith('FST_') ? err.code : (STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'));
  return { error: { code, message: err.message ?? '' } };
}

export function createHttpApp(unit: ResolvedListening, ctx: OwnedContext, replica: Replica, meter: Meter): FastifyInstance {
  const app = Fastify({ loggerInstance: ctx.logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), return503OnClosing: true });
  const probes = new Set([unit.health.liveness, unit.health.readiness, '/metrics']);

  app.addHook('onRequest', (req, reply, done) => {
    const path = req.url.split('?')[0]!;
    if (probes.has(path)) return done();
    const started = meter.start();
    reply.raw.once('close', () => meter.end(started, String(reply.raw.statusCode)));
    if (replica.draining) {
      // Connection: close makes keep-alive clients reconnect, landing on a replica that is not draining.
      void reply.code(503).header('connection', 'close').header('retry-after', '1').send(DRAINING_BODY);
      return;
    }
    done();
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.validation ? 400 : err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err, method: req.method, url: req.url }, 'request failed');
    void reply.code(status).send(errorBody(status, err));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  app.get(unit.health.liveness, async () => ({ status: 'ok' }));
  app.get(unit.health.readiness, async (_req, reply) =>
    replica.isReady() ? { status: 'ready' } : reply.code(503).send({ status: replica.draining ? 'draining' : 'starting' }));
  app.get('/metrics', async (_req, reply) => {
    const m = await replica.metrics();
    return reply.type(m.contentType).send(m.body);
  });
  return app;
}

/** Listens on the unit's port; under Node's cluster every replica's listen shares it. */
export async function listen(app: FastifyInstance, port: number): Promise<number> {
  await app.listen({ port, host: process.env.HOST ?? '0.0.0.0' });
  const addr = app.server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}

/** Waits for in-flight work to finish or `deadline`; resolves true when it finished. */
export async function idleBy(idle: Promise<void>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())); });
  const ok = await Promise.race([idle.then(() => true), timeout]);
  clearTimeout(timer);
  return ok;
}
