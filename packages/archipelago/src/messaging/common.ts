// Rules every broker shares, so that retries, dead letters and errors behave (and read) the same
// whichever broker carries the messages.
import os from 'node:os';
import { ArchipelagoError } from '../errors.js';
import type { SubscriptionSpec } from './broker.js';

/** Delay before attempt `attempt + 1` after attempt `attempt` failed (attempt counts from 1). */
export function backoffDelay(spec: Pick<SubscriptionSpec, 'backoff'>, attempt: number): number {
  const { initialMs, maxMs, factor } = spec.backoff;
  const delay = initialMs * Math.pow(factor, Math.max(0, attempt - 1));
  return Math.max(0, Math.min(maxMs, Math.round(delay)));
}

/** What happens to a failed delivery: retried after `delayMs`, or moved to dead letters. */
export function afterFailure(spec: Pick<SubscriptionSpec, 'backoff' | 'maxAttempts'>, attempt: number, dead = false): { dead: true } | { dead: false; delayMs: number } {
  if (dead || attempt >= spec.maxAttempts) return { dead: true };
  return { dead: false, delayMs: backoffDelay(spec, attempt) };
}

/**
 * The one place a delivery's clocks are derived from its deadline. At `deadlineMs` the delivery's
 * signal aborts; a handler still running at `overrunMs` makes its replica exit (as a failed
 * liveness probe would); the lease (`leaseMs`) ends after that, so a message is never handed to a
 * second replica while a live replica still runs its handler.
 */
export function deliveryTimes(spec: Pick<SubscriptionSpec, 'deadlineMs'>): { deadlineMs: number; overrunMs: number; leaseMs: number } {
  const margin = Math.min(30_000, Math.max(1000, Math.round(spec.deadlineMs / 10)));
  return { deadlineMs: spec.deadlineMs, overrunMs: spec.deadlineMs + Math.round(margin / 2), leaseMs: spec.deadlineMs + margin };
}

/** How long a claimed message stays invisible to other consumers: the deadline plus a margin. */
export function leaseMs(spec: Pick<SubscriptionSpec, 'deadlineMs'>): number {
  return deliveryTimes(spec).leaseMs;
}

export const brokerErrors = {
  unknownSubscription: (name: string) =>
    new ArchipelagoError('ARCH_E_SUBSCRIPTION_UNKNOWN', `no subscription "${name}" is registered with the broker`),
  closed: () => new ArchipelagoError('ARCH_E_BROKER', 'the broker is closed'),
  broadcastTooLarge: (topic: string, bytes: number, max: number) =>
    new ArchipelagoError('ARCH_E_BROKER', `broadcast on topic "${topic}" is ${bytes} bytes; at most ${max} bytes fit in one broadcast`),
  unavailable: (what: string, cause: unknown) =>
    new ArchipelagoError('ARCH_E_BROKER_UNAVAILABLE', `${what} cannot be reached: ${cause instanceof Error ? cause.message : String(cause)}`),
  failed: (what: string, cause: unknown) =>
    new ArchipelagoError('ARCH_E_BROKER', `${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`),
};

/** Broadcast payloads are capped by the smallest transport (PostgreSQL NOTIFY takes < 8000 bytes). */
export const MAX_BROADCAST_BYTES = 7000;

/** A broadcast on the wire: topic, payload and (when there is trace context to carry) headers. */
export interface BroadcastEnvelope { t: string; p: unknown; h?: Readonly<Record<string, string>> }

export function encodeBroadcast(topic: string, payload: unknown, headers?: Readonly<Record<string, string>>): string {
  const text = JSON.stringify(headers ? { t: topic, p: payload, h: headers } : { t: topic, p: payload });
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_BROADCAST_BYTES) throw brokerErrors.broadcastTooLarge(topic, bytes, MAX_BROADCAST_BYTES);
  return text;
}

export const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  if (signal?.aborted) return resolve();
  const t = setTimeout(done, ms);
  function done() { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); }
  signal?.addEventListener('abort', done, { once: true });
});

/** A wake-up flag loops can sleep on and others can ring; a ring with nobody waiting is kept for the next wait. */
export class Bell {
  private readonly waiters = new Set<() => void>();
  private rung = false;
  ring(): void {
    if (this.waiters.size === 0) { this.rung = true; return; }
    for (const w of [...this.waiters]) w();
  }
  /** Resolves when rung, after `ms`, or when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.rung || signal?.aborted) { this.rung = false; return Promise.resolve(); }
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); this.waiters.delete(done); resolve(); };
      const t = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }
}

/** Runs `fn` once per call site; later calls get the first call's promise (idempotent close). */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** A lease holder id unique to this process: a restarted replica keeps its name but not its pid. */
export function holderId(replica: string, pid = process.pid): string {
  return `${replica}:${pid}`;
}

export function defaultHolder(): string {
  return holderId(process.env.ARCHIPELAGO_REPLICA ?? os.hostname());
}

/**
 * Counts messages published to a topic that no subscription exists for (the broker keeps none of
 * them) and says so once per topic: a missing subscription must be visible, not a silent drop.
 */
export class Unrouted {
  private readonly counts = new Map<string, number>();
  constructor(private readonly warn: (msg: string) => void) {}
  note(topic: string, n: number): void {
    const before = this.counts.get(topic);
    this.counts.set(topic, (before ?? 0) + n);
    if (before === undefined) this.warn(`topic "${topic}" has no subscription: ${n} message${n === 1 ? ' was' : 's were'} published to it and not kept (counted in archipelago_messages_unrouted_total; provision the subscriptions first)`);
  }
  get map(): ReadonlyMap<string, number> { return this.counts; }
}
