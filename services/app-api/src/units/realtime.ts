// The real-time API (port 3001): WebSocket `/live`, authenticated with the API's bearer token.
// Each user's connections join `user:<id>`; `{ "type": "subscribe", "post": "<id>" }` joins
// `post:<id>`. Events arrive as `live` broadcasts from the background unit.
import type { IncomingMessage } from 'node:http';
import { realtime, type Connection, type RealtimeHub } from 'archipelago-toolkit';
import { bearer, principalFor, type Principal } from '../domain/sessions.js';
import { live, type LiveEvent } from '../topics.js';

const POST_ID = /^[1-9][0-9]{0,17}$/;

/** The token from `Authorization: Bearer …` or, for browsers (which cannot set headers), `?token=`. */
export function tokenOf(req: IncomingMessage): string | null {
  const header = bearer(req.headers.authorization);
  if (header) return header;
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('token');
}

export function onMessage(conn: Connection<Principal>, data: unknown): void {
  const msg = (typeof data === 'string' ? safeParse(data) : data) as { type?: unknown; post?: unknown } | undefined;
  const type = msg?.type;
  const post = typeof msg?.post === 'number' ? String(msg.post) : msg?.post;
  if ((type === 'subscribe' || type === 'unsubscribe') && typeof post === 'string' && POST_ID.test(post)) {
    if (type === 'unsubscribe') {
      conn.leave(`post:${post}`);
      conn.send({ type: 'unsubscribed', post });
    } else if (conn.join(`post:${post}`)) {
      conn.send({ type: 'subscribed', post });
    } else {
      conn.send({ type: 'error', error: { code: 'TOO_MANY_SUBSCRIPTIONS', message: 'subscription limit reached' } });
    }
    return;
  }
  if (type === 'ping') {
    conn.send({ type: 'pong' });
    return;
  }
  conn.send({ type: 'error', error: { code: 'BAD_MESSAGE', message: 'expected {"type":"subscribe"|"unsubscribe","post":"<id>"}' } });
}

function safeParse(s: string): unknown {
  try { return JSON.parse(s); } catch { return undefined; }
}

export function fanOut(e: LiveEvent, hub: RealtimeHub): number {
  if (e.kind === 'notification') return hub.publish(`user:${e.userId}`, { type: 'notification', ...e.notification });
  return hub.publish(`post:${e.id}`, { type: 'post', id: e.id, upvotes: e.upvotes, comments: e.comments });
}

export default realtime<Principal>({
  path: '/live',
  authenticate: (req, ctx) => principalFor(ctx.db, tokenOf(req)),
  onOpen: (conn) => {
    conn.join(`user:${conn.principal.id}`);
    conn.send({ type: 'hello', user: conn.principal });
  },
  onMessage: (conn, data) => onMessage(conn, data),
  broadcasts: [{ topic: live, handler: (e: LiveEvent, hub) => { fanOut(e, hub); } }],
  // 50 post subscriptions (+1 own channel), 4 KiB messages, 256 KiB of unsent data before a slow client is dropped.
  limits: { maxMessageBytes: 4096, maxChannels: 51, maxBufferedBytes: 256 * 1024, heartbeatMs: 30_000 },
});
