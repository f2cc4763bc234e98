// The realtime unit's own logic: token lookup (header or query), client messages, fan-out to channels.
// (Sockets, heartbeats and buffer limits belong to the toolkit's realtime host.)
import type { IncomingMessage } from 'node:http';
import type { Connection, RealtimeHub } from 'archipelago-toolkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, type Principal } from '../src/domain/sessions.js';
import definition, { fanOut, onMessage, tokenOf } from '../src/units/realtime.js';
import { migratedDatabase, unitContext, type TestContext } from './support/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await unitContext(await migratedDatabase(), 'realtime');
});
afterAll(async () => ctx?.close());

const req = (url: string, authorization?: string) => ({ url, headers: authorization ? { authorization } : {} }) as IncomingMessage;

function connection(maxChannels: number) {
  const sent: unknown[] = [];
  const channels = new Set<string>();
  const conn = {
    id: 'c1', principal: { id: '1', username: 'a' }, socket: undefined as never, channels,
    send: (d: unknown) => { sent.push(d); return true; },
    join: (ch: string) => { if (channels.size >= maxChannels) return false; channels.add(ch); return true; },
    leave: (ch: string) => { channels.delete(ch); },
    close: () => {},
  } satisfies Connection<Principal>;
  return { conn, sent, channels };
}

describe('realtime unit', () => {
  it('authenticates with the bearer token from the header or ?token=, and refuses others', async () => {
    const { rows } = await ctx.db.query(`INSERT INTO users (username, email, password_hash) VALUES ('rt', 'rt@example.com', 'x') RETURNING id::text`);
    const { token } = await createSession(ctx.db, rows[0].id);
    expect(tokenOf(req('/live', `Bearer ${token}`))).toBe(token);
    expect(tokenOf(req(`/live?token=${token}`))).toBe(token);
    expect(await definition.authenticate(req('/live', `Bearer ${token}`), ctx)).toEqual({ id: rows[0].id, username: 'rt' });
    expect(await definition.authenticate(req(`/live?token=${token}`), ctx)).toEqual({ id: rows[0].id, username: 'rt' });
    expect(await definition.authenticate(req('/live'), ctx)).toBeNull();
    expect(await definition.authenticate(req(`/live?token=ak_${'x'.repeat(43)}`), ctx)).toBeNull();
    await ctx.db.query(`UPDATE sessions SET expires_at = now() - interval '1 s'`);
    expect(await definition.authenticate(req(`/live?token=${token}`), ctx)).toBeNull();
  });

  it('subscribes to posts up to the channel limit and answers bad messages with an error', () => {
    const { conn, sent, channels } = connection(2);
    onMessage(conn, { type: 'subscribe', post: '42' });
    onMessage(conn, JSON.stringify({ type: 'subscribe', post: 43 }));
    onMessage(conn, { type: 'subscribe', post: '44' });
    onMessage(conn, { type: 'subscribe', post: '../etc' });
    onMessage(conn, 'not json');
    expect([...channels]).toEqual(['post:42', 'post:43']);
    expect(sent).toEqual([
      { type: 'subscribed', post: '42' }, { type: 'subscribed', post: '43' },
      { type: 'error', error: { code: 'TOO_MANY_SUBSCRIPTIONS', message: expect.any(String) } },
      { type: 'error', error: { code: 'BAD_MESSAGE', message: expect.any(String) } },
      { type: 'error', error: { code: 'BAD_MESSAGE', message: expect.any(String) } },
    ]);
    onMessage(conn, { type: 'unsubscribe', post: '42' });
    expect([...channels]).toEqual(['post:43']);
  });

  it("sends notifications to the user's channel and counters to the post's subscribers", () => {
    const out: [string, unknown][] = [];
    const hub: RealtimeHub = { connections: 0, publish: (ch, data) => { out.push([ch, data]); return 1; } };
    fanOut({ kind: 'post', id: '7', upvotes: 3, comments: 1 }, hub);
    fanOut({ kind: 'notification', userId: '5', notification: { id: '9', message: '3 people upvoted your post' } }, hub);
    expect(out).toEqual([
      ['post:7', { type: 'post', id: '7', upvotes: 3, comments: 1 }],
      ['user:5', { type: 'notification', id: '9', message: '3 people upvoted your post' }],
    ]);
  });
});
