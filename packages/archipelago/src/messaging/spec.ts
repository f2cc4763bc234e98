// A subscription's declaration (`subscribe(...)`) with its defaults filled in: the spec every
// broker, the catalog and synth receive.
import { parseDuration } from '../service/quantity.js';
import type { SubscriptionDefinition } from '../units/define.js';
import type { SubscriptionSpec } from './broker.js';

export const SUBSCRIPTION_DEFAULTS = { concurrency: 1, maxAttempts: 5, backoff: { initialMs: 1000, maxMs: 300_000, factor: 2 }, deadlineMs: 300_000 } as const;

/** Fills a subscription's defaults into the spec every broker receives. */
export function subscriptionSpec(unit: string, def: SubscriptionDefinition): SubscriptionSpec {
  const o = def.options;
  const ms = (v: string | undefined, fallback: number) => (v === undefined ? fallback : parseDuration(v) ?? fallback);
  return {
    name: def.name, topic: def.topic.name, unit,
    concurrency: o.concurrency ?? SUBSCRIPTION_DEFAULTS.concurrency,
    maxAttempts: o.maxAttempts ?? SUBSCRIPTION_DEFAULTS.maxAttempts,
    backoff: {
      initialMs: ms(o.backoff?.initial, SUBSCRIPTION_DEFAULTS.backoff.initialMs),
      maxMs: ms(o.backoff?.max, SUBSCRIPTION_DEFAULTS.backoff.maxMs),
      factor: o.backoff?.factor ?? SUBSCRIPTION_DEFAULTS.backoff.factor,
    },
    deadlineMs: ms(o.deadline, SUBSCRIPTION_DEFAULTS.deadlineMs),
  };
}
