// The worker host: runs the definition's setup, consumes its subscriptions and listens to its
// broadcasts; probes and metrics are on the replica's admin server.
import type { ConsumerHandle } from '../messaging/broker.js';
import type { Messaging } from '../messaging/messaging.js';
import type { ResolvedWorkerUnit } from '../service/types.js';
import type { OwnedContext } from './context.js';
import type { SubscriptionDefinition, WorkerDefinition } from './define.js';
import { Meter } from './process-metrics.js';
import type { Host } from './replica.js';

/** The same subscription with its handler metered. */
function metered(def: SubscriptionDefinition, meter: Meter): SubscriptionDefinition {
  return Object.freeze({
    ...def,
    handler: async (delivery, ctx) => {
      const started = meter.start();
      try {
        await def.handler(delivery, ctx);
        meter.end(started, 'ok');
      } catch (e) {
        meter.end(started, 'error');
        throw e;
      }
    },
  } satisfies SubscriptionDefinition);
}

export async function startWorkerHost(unit: ResolvedWorkerUnit, def: WorkerDefinition, ctx: OwnedContext, messaging: Messaging | undefined): Promise<Host> {
  const meter = new Meter(ctx.metrics, 'messages');
  if ((def.subscriptions.length > 0 || def.broadcasts.length > 0) && !messaging) {
    throw new Error(`unit "${unit.name}": subscriptions and broadcasts need messaging, which is not available`);
  }
  await def.setup?.(ctx);
  let consumers: ConsumerHandle | undefined;
  let stopBroadcasts: (() => Promise<void>) | undefined;
  if (messaging && def.subscriptions.length > 0) consumers = await messaging.startSubscriptions(def.subscriptions.map((s) => metered(s, meter)), ctx);
  if (messaging && def.broadcasts.length > 0) stopBroadcasts = await messaging.startBroadcasts(def.broadcasts, ctx);
  ctx.logger.info({ subscriptions: def.subscriptions.map((s) => s.name), broadcasts: def.broadcasts.map((b) => b.topic.name) }, 'worker consuming');

  return {
    unit: unit.name,
    ready: () => true,
    load: () => ({ inFlight: consumers?.inFlight ?? 0, connections: 0, handled: meter.handled, ...meter.take() }),
    async drain(deadline) {
      await stopBroadcasts?.().catch(() => {});
      if (!consumers) return [];
      const { cut } = await consumers.stop(Math.max(0, deadline - Date.now()));
      return cut > 0 ? [`${cut} in-flight message${cut === 1 ? '' : 's'} (they will be redelivered)`] : [];
    },
    close: async () => {},
  };
}
