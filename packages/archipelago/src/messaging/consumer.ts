// The consume loop every broker shares: fetch up to the free concurrency, run handlers, settle
// each outcome, and on stop drain within the grace period and release what is left. A slot is
// free only once its handler's promise has settled, so `concurrency` bounds what really runs.
import { setMaxListeners } from 'node:events';
import type { ConsumerHandle, HandlerOutcome, RawDelivery, SubscriptionSpec } from './broker.js';
import { Bell, sleep } from './common.js';

export type Warn = (msg: string, err?: unknown) => void;

export interface MessageSource<M> {
  /** Claims up to `max` messages; may wait for some until `signal` aborts or a short poll ends. */
  fetch(max: number, signal: AbortSignal): Promise<M[]>;
  delivery(m: M): RawDelivery;
  settle(m: M, outcome: HandlerOutcome): Promise<void>;
  /** Gives back messages whose handlers did not finish within the grace period. */
  release(ms: M[]): Promise<void>;
  /** Called once after the loop has stopped and every handler has settled or been released. */
  closed?(): Promise<void>;
}

/** A handler as brokers call it: `signal` aborts when a drain's grace runs out (the message is then released). */
export type RawHandler = (d: RawDelivery, signal: AbortSignal) => Promise<HandlerOutcome>;

export function runConsumer<M>(spec: SubscriptionSpec, source: MessageSource<M>, handler: RawHandler, warn: Warn): ConsumerHandle {
  const held = new Set<M>();
  // One signal for every delivery: it aborts only when a drain's grace runs out, and then for all
  // that still run (each is released), so a controller per delivery would buy nothing.
  const cut = new AbortController();
  // Each running delivery that reads its signal listens on this one: up to `concurrency` listeners
  // are expected, not a leak to warn about.
  setMaxListeners(Math.max(10, spec.concurrency + 1), cut.signal);
  let maxInFlight = 0;
  const released = new Set<M>();
  const slot = new Bell();
  const idle = new Bell();
  const abort = new AbortController();
  let stopping = false;

  const handle = async (m: M) => {
    let outcome: HandlerOutcome;
    try {
      outcome = await handler(source.delivery(m), cut.signal);
    } catch (e) {
      outcome = { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    if (!released.has(m)) {
      try {
        await source.settle(m, outcome);
      } catch (e) {
        warn(`subscription "${spec.name}": could not record a delivery's outcome; it will be redelivered`, e);
      }
    }
    held.delete(m);
    released.delete(m);
    slot.ring();
    if (held.size === 0) idle.ring();
  };

  const loop = (async () => {
    while (!stopping) {
      const free = spec.concurrency - held.size;
      if (free <= 0) { await slot.wait(1000); continue; }
      let batch: M[];
      try {
        batch = await source.fetch(free, abort.signal);
      } catch (e) {
        if (stopping) break;
        warn(`subscription "${spec.name}": fetching messages failed; retrying in 1s`, e);
        await sleep(1000, abort.signal);
        continue;
      }
      if (stopping) {
        // Claimed while stopping: give them straight back.
        if (batch.length) await source.release(batch).catch((e) => warn(`subscription "${spec.name}": releasing messages failed`, e));
        break;
      }
      for (const m of batch) { held.add(m); void handle(m); }
      maxInFlight = Math.max(maxInFlight, held.size);
    }
  })();

  let stopped: Promise<{ cut: number }> | undefined;
  return {
    get inFlight() { return held.size; },
    get maxInFlight() { return maxInFlight; },
    stop(graceMs: number) {
      stopped ??= (async () => {
        stopping = true;
        abort.abort();
        slot.ring();
        await loop;
        const until = Date.now() + graceMs;
        while (held.size > 0 && Date.now() < until) await idle.wait(Math.max(1, Math.min(100, until - Date.now())));
        const left = [...held].filter((m) => !released.has(m));
        for (const m of left) released.add(m);
        if (left.length) cut.abort(new Error(`subscription "${spec.name}": the drain's grace ran out`));
        if (left.length) await source.release(left).catch((e) => warn(`subscription "${spec.name}": releasing messages failed; they will be redelivered after their lease`, e));
        await source.closed?.().catch((e) => warn(`subscription "${spec.name}": closing the consumer failed`, e));
        return { cut: left.length };
      })();
      return stopped;
    },
  };
}
