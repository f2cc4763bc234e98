// The Fastify setup api and realtime hosts share: JSON errors, health and metrics routes, request
// metering, and 503s for new requests while the replica drains.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ResolvedListening } from '../service/types.js';
import { context } from '../tracing/spans.js';
import { endServerSpan, startServerSpan, type ServerSpan } from '../tracing/http-spans.js';
import { bindHost } from './bind.js';
import type { OwnedContext } from './context.js';
import { handleClientError, handleError, handleNotFound } from './http-errors.js';
import type { Meter } from './process-metrics.js';
import { DRAINING_BODY, type Replica } from './replica.js';
import { formatValidationError, strictValidatorCompiler, textRules } from './validation.js';

export { errorBody, type ErrorBody } from './http-errors.js';

/** The Fastify options a unit's declaration implies: strict validation, trusted proxies, our error shape before routing. */
export function httpOptions(unit: Pick<ResolvedListening, 'trustProxy'>): FastifyServerOptions {
  return {
    // Who may set X-Forwarded-For: the unit's trusted proxies only; with none, the peer address is the client.
    trustProxy: unit.trustProxy.length ? [...unit.trustProxy] : false,
    clientErrorHandler: handleClientError,
    frameworkErrors: handleError,
    schemaErrorFormatter: formatValidationError as FastifyServerOptions['schemaErrorFormatter'],
    ajv: { plugins: [textRules as never] },
    // Our drain answers new requests itself (the onRequest hook below), in the API's error shape.
    return503OnClosing: false,
  };
}

/**
 * A Fastify instance configured as the unit's host configures it, without health routes or
 * metering: what `archipelago-toolkit/testing` hands to tests, and the base of `createHttpApp`.
 */
export function createBareApp(unit: Pick<ResolvedListening, 'trustProxy' | 'validation'>, opts: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify({ ...httpOptions(unit), ...opts });
  if (unit.validation === 'strict') app.setValidatorCompiler(strictValidatorCompiler());
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  return app;
}

export function createHttpApp(unit: ResolvedListening, ctx: OwnedContext, replica: Replica, meter: Meter): FastifyInstance {
  const app = createBareApp(unit, { loggerInstance: ctx.logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) });
  const probes = new Set([unit.health.liveness, unit.health.readiness, '/metrics']);
  let closing = false;
  const inFlight = new WeakMap<object, { flight: { handling: boolean; answered: boolean; closed: boolean }; end: () => void; traced: ServerSpan }>();
  app.addHook('preClose', (done) => { closing = true; done(); });

  app.addHook('onRequest', (req, reply, done) => {
    const path = req.url.split('?')[0]!;
    if (probes.has(path)) return done();
    // A request stays in flight until its handler has answered, not merely until its client hung
    // up: a drain must see (and report) handlers still stuck after their clients gave up.
    const started = meter.start();
    const flight = { handling: false, answered: false, closed: false, ended: false };
    const end = () => { if (!flight.ended) { flight.ended = true; meter.end(started, String(reply.raw.statusCode)); } };
    const traced = startServerSpan(req.method, req.routeOptions.url, path, req.headers);
    inFlight.set(req, { flight, end, traced });
    reply.raw.once('close', () => {
      flight.closed = true;
      endServerSpan(traced, reply.raw.statusCode, !reply.raw.writableFinished);
      if (!flight.handling || flight.answered) end();
    });
    if (replica.draining || closing) {
      // Connection: close makes keep-alive clients reconnect, landing on a replica that is not draining.
      void reply.code(503).header('connection', 'close').header('retry-after', '1').send(DRAINING_BODY);
      return;
    }
    done();
  });

  // The handler runs inside the request's span: Fastify calls it synchronously from the last
  // preHandler's `done`, so the span's context reaches the handler and everything it awaits.
  app.addHook('preHandler', (req, _reply, done) => {
    const f = inFlight.get(req);
    if (!f) return done();
    f.flight.handling = true;
    context.with(f.traced.context, done);
  });
  app.addHook('onSend', (req, _reply, payload, done) => {
    const f = inFlight.get(req);
    if (f) { f.flight.answered = true; if (f.flight.closed) f.end(); }
    done(null, payload);
  });
  app.get(unit.health.liveness, async (_req, reply) => (replica.isAlive() ? { status: 'ok' } : reply.code(503).send({ status: 'database pool exhausted' })));
  app.get(unit.health.readiness, async (_req, reply) =>
    replica.isReady() ? { status: 'ready' } : reply.code(503).send({ status: replica.notReadyStatus() }));
  app.get('/metrics', async (_req, reply) => {
    const m = await replica.metrics();
    return reply.type(m.contentType).send(m.body);
  });
  return app;
}

/** Listens on the unit's port; under Node's cluster every replica's listen shares it. */
export async function listen(app: FastifyInstance, port: number): Promise<number> {
  await app.listen({ port, host: bindHost() });
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
