// The api host: the definition's Fastify routes behind the shared HTTP setup, drained on shutdown.
import type { ResolvedApiUnit } from '../service/types.js';
import type { OwnedContext } from './context.js';
import type { ApiDefinition } from './define.js';
import { createHttpApp, idleBy, listen } from './http.js';
import { Meter } from './process-metrics.js';
import type { Host, Replica } from './replica.js';

export async function startApiHost(unit: ResolvedApiUnit, def: ApiDefinition, ctx: OwnedContext, replica: Replica): Promise<Host> {
  const meter = new Meter(ctx.metrics, 'http_requests');
  const app = createHttpApp(unit, ctx, replica, meter);
  await def.routes(app, ctx);
  const port = await listen(app, unit.port);
  ctx.logger.info({ port }, 'api listening');
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= app.close());

  return {
    unit: unit.name,
    port,
    ready: () => true,
    load: () => ({ inFlight: meter.inFlight, connections: 0, handled: meter.handled, ...meter.take() }),
    async drain(deadline) {
      // Keep listening while requests are in flight, so new ones get a clean 503 rather than a reset.
      if (await idleBy(meter.whenIdle(), deadline)) return [];
      const n = meter.inFlight;
      return [`${n} in-flight request${n === 1 ? '' : 's'}`];
    },
    close,
  };
}
