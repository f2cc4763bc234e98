// JetStream publishes with their acknowledgements matched on one inbox subscription of the
// broker's connection. The client's `js.publish` makes a request per message (a promise chain, a
// timer and, on every success, a cancellation error with its stack trace): most of a publish's
// CPU. Here a window of publishes shares one timer and one promise; what JetStream answers is the
// same (the stored sequence, or an error), and a message id still deduplicates re-sends.
import { createInbox, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';

export interface Outgoing { readonly subject: string; readonly data: Uint8Array; readonly headers: MsgHdrs }

interface Window { left: number; resolve(): void; reject(e: Error): void }

/** A JetStream answer to a publish: the stored position, or why it was refused. */
interface PubAck { stream?: string; error?: { code?: number; err_code?: number; description?: string } }

export interface Publisher {
  /** Publishes every message; resolves once JetStream stored them all, rejects on the first refusal or after `timeoutMs`. */
  publish(ms: readonly Outgoing[], timeoutMs: number): Promise<void>;
}

export function jetStreamPublisher(nc: NatsConnection): Publisher {
  const inbox = createInbox();
  const waiting = new Map<string, Window>();
  const td = new TextDecoder();
  let seq = 0;
  const sub: Subscription = nc.subscribe(`${inbox}.*`, {
    callback: (err, m) => {
      if (err) {
        // The subscription itself failed (a permission, a closed connection): nothing will be answered.
        for (const w of new Set(waiting.values())) w.reject(err);
        waiting.clear();
        return;
      }
      const key = m.subject.slice(inbox.length + 1);
      const w = waiting.get(key);
      if (!w) return;
      waiting.delete(key);
      // A status-only answer: 503 when no stream takes the subject.
      if (m.headers?.code) return w.reject(new Error(`JetStream answered ${m.headers.code} ${m.headers.description || (m.headers.code === 503 ? 'no responders' : '')}`.trim()));
      let ack: PubAck;
      try { ack = JSON.parse(td.decode(m.data)) as PubAck; } catch (e) { return w.reject(e instanceof Error ? e : new Error(String(e))); }
      if (ack.error) return w.reject(new Error(`${ack.error.description ?? 'JetStream refused the message'} (${ack.error.err_code ?? ack.error.code ?? 'no code'})`));
      if (!ack.stream) return w.reject(new Error('JetStream sent an invalid publish acknowledgement'));
      if (--w.left === 0) w.resolve();
    },
  });
  return {
    publish(ms, timeoutMs) {
      if (!ms.length) return Promise.resolve();
      if (sub.isClosed()) return Promise.reject(new Error('the connection is closed'));
      return new Promise<void>((resolve, reject) => {
        const keys: string[] = [];
        let settled = false;
        const finish = (e?: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          // Answers still due for a failed window are dropped when they come.
          if (e) { for (const k of keys) waiting.delete(k); reject(e); } else resolve();
        };
        const w: Window = { left: ms.length, resolve: () => finish(), reject: (e) => finish(e) };
        const timer = setTimeout(() => finish(new Error(`JetStream acknowledged ${ms.length - w.left} of ${ms.length} messages within ${timeoutMs} ms`)), timeoutMs);
        try {
          for (const m of ms) {
            const key = String(++seq);
            keys.push(key);
            waiting.set(key, w);
            nc.publish(m.subject, m.data, { headers: m.headers, reply: `${inbox}.${key}` });
          }
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
        }
      });
    },
  };
}
