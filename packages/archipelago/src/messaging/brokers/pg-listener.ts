// One LISTEN connection per broker, shared by every consumer and broadcast listener; it
// reconnects after a delay when the connection drops, and never throws into the process.
import pg from 'pg';
import type { Warn } from '../consumer.js';

export class PgListener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly reconnected = new Set<() => void>();
  private started: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly url: string, private readonly warn: Warn) {}

  /** Resolves once the channel is being listened to; `onReconnect` runs after each reconnection (notifications may have been missed). */
  async listen(channel: string, fn: (payload: string) => void, onReconnect?: () => void): Promise<() => void> {
    let set = this.handlers.get(channel);
    const fresh = !set;
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(fn);
    if (onReconnect) this.reconnected.add(onReconnect);
    await (this.started ??= this.connect(true).catch((e: unknown) => { this.started = undefined; throw e; }));
    if (fresh && this.client) await this.client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    return () => { set.delete(fn); if (onReconnect) this.reconnected.delete(onReconnect); };
  }

  private async connect(first: boolean): Promise<void> {
    while (!this.closed) {
      const client = new pg.Client({ connectionString: this.url, application_name: 'archipelago-listener' });
      client.on('notification', (n) => {
        for (const fn of this.handlers.get(n.channel) ?? []) {
          try { fn(n.payload ?? ''); } catch (e) { this.warn('a notification handler failed', e); }
        }
      });
      client.on('error', (e) => this.warn('the LISTEN connection failed; reconnecting', e));
      client.on('end', () => {
        if (this.client !== client || this.closed) return;
        this.client = undefined;
        void this.connect(false);
      });
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        if (this.closed) { await client.end().catch(() => {}); return; }
        this.client = client;
        if (!first) for (const fn of this.reconnected) fn();
        return;
      } catch (e) {
        await client.end().catch(() => {});
        if (first) throw e;
        this.warn('could not reconnect the LISTEN connection; retrying in 1s', e);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}
