// The weekly digest: who is due, what each digest holds, at-most-once sends through the file
// outbox and through SMTP (a local smtp-server).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Delivery } from 'archipelago-toolkit';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueUsers, selectDigests, sendDigests } from '../src/domain/digest.js';
import { buildMime } from '../src/domain/mime.js';
import { compile } from '../src/domain/template.js';
import { outboxTransport, smtpTransport } from '../src/domain/transport.js';
import { CLEANUP } from '../src/crons/cleanup.js';
import { queueDigests } from '../src/crons/weekly-digest.js';
import { handleBatch } from '../src/units/digest.js';
import type { DigestBatch } from '../src/topics.js';
import { migratedDatabase, unitContext, type TestContext } from './support/context.js';

let ctx: TestContext;
let tmp: string;
const ids: Record<string, string> = {};
const posts: Record<string, string> = {};

async function addUser(name: string, tags: string[], tz = 'UTC', optIn = true) {
  const { rows } = await ctx.db.query(
    `INSERT INTO users (username, email, password_hash, tags, time_zone, digest_opt_in) VALUES ($1, $1 || '@example.com', 'x', $2, $3, $4) RETURNING id::text`,
    [name, tags, tz, optIn]);
  ids[name] = rows[0].id;
}
async function addPost(key: string, author: string, tags: string[], upvotes: number, age = '1 day') {
  const { rows } = await ctx.db.query(
    `INSERT INTO posts (author_id, title, tags, upvotes, created_at) VALUES ($1, $2, $3, $4, now() - $5::interval) RETURNING id::text`,
    [ids[author], `Post ${key} <b>`, tags, upvotes, age]);
  posts[key] = rows[0].id;
}
/** The message as a mail client reads it (mailparser), headers and both parts. */
async function parsed(raw: string) {
  const m = await simpleParser(raw);
  return { ...m, all: `${m.subject}\n${m.text}\n${m.html || ''}` };
}
const delivery = (message: DigestBatch, attempt = 1) => ({ id: 'x', message, attempt, publishedAt: new Date(), topic: 'digest', subscription: 'digest-send' }) as Delivery<DigestBatch>;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'appapi-digest-'));
  ctx = await unitContext(await migratedDatabase(), 'digest', { root: tmp });
  await addUser('alice', ['ts', 'db']);
  await addUser('bob', ['ts']);
  await addUser('carol', ['ts'], 'UTC', false);
  await addUser('tokyo', ['ts'], 'Asia/Tokyo');
  await addUser('newyork', ['ts'], 'America/New_York');
  await addPost('a1', 'alice', ['ts'], 5);
  await addPost('a2', 'alice', ['ts', 'db'], 9);
  await addPost('a3', 'alice', ['go'], 50);
  await addPost('old', 'alice', ['ts'], 99, '8 days');
  await addPost('b1', 'bob', ['ts'], 100);
  await addPost('marked', 'alice', ['ts'], 7);
  await ctx.db.query('INSERT INTO bookmarks (user_id, post_id) VALUES ($1, $2)', [ids.bob, posts.marked]);
});
afterAll(async () => {
  await ctx?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('digest selection', () => {
  it("picks the week's top posts in followed tags, never the user's own or bookmarked ones", async () => {
    const d = await selectDigests(ctx.db, [ids.bob!, ids.alice!, ids.carol!], { limit: 10 });
    expect(d.get(ids.bob!)!.posts.map((p) => p.id)).toEqual([posts.a2, posts.a1]);
    expect(d.get(ids.alice!)!.posts.map((p) => p.id)).toEqual([posts.b1]);
    expect(d.has(ids.carol!)).toBe(false);
    expect((await selectDigests(ctx.db, [ids.bob!], { limit: 1 })).get(ids.bob!)!.posts).toHaveLength(1);
  });

  it("queues each user once per week, on their own Monday morning", async () => {
    // 2026-11-30 is a Monday; 00:30 UTC is 09:30 in Tokyo and still Sunday in New York and UTC.
    const monday = new Date('2026-11-30T00:30:00Z');
    expect((await dueUsers(ctx.db, { now: monday })).map((u) => u.id)).toEqual([ids.tokyo]);
    expect(await dueUsers(ctx.db, { now: new Date('2026-11-30T01:30:00Z') })).toEqual([]);
    const ny = await dueUsers(ctx.db, { now: new Date('2026-11-30T13:05:00Z') });
    expect(ny.map((u) => u.id).sort()).toEqual([ids.alice, ids.bob, ids.newyork].sort());
    expect(new Set(ny.map((u) => u.week))).toEqual(new Set(['2026-W49']));
    expect(await dueUsers(ctx.db, { now: new Date('2026-11-30T20:00:00Z') })).toEqual([]);
    await ctx.db.query('DELETE FROM digest_zone_runs');
  });

  it('fans the due users out in batches onto the digest topic, one transaction per time zone', async () => {
    // A fixed Monday afternoon: every zone of the fixture is in the same ISO week.
    const now = new Date('2026-11-30T13:05:00Z');
    const r = await queueDigests(ctx, { anyTime: true, now });
    expect(r).toEqual({ users: 4, batches: 3, zones: 3 });
    const sent = ctx.published.map((p) => (p.message as DigestBatch));
    expect(sent.map((b) => b.week)).toEqual(['2026-W49', '2026-W49', '2026-W49']);
    expect(sent.map((b) => b.userIds).sort((a, b) => a.length - b.length || Number(a[0]) - Number(b[0])))
      .toEqual([[ids.newyork], [ids.tokyo], [ids.alice, ids.bob]].sort((a, b) => a.length - b.length || Number(a[0]) - Number(b[0])));
    expect(await queueDigests(ctx, { anyTime: true, now })).toEqual({ users: 0, batches: 0, zones: 0 });
    await ctx.db.query('DELETE FROM digest_zone_runs');
  });

  it('leaves a zone unmarked when publishing its batches fails, so the next run queues it', async () => {
    const now = new Date('2026-11-30T13:05:00Z');
    const failing = { ...ctx, publishMany: () => Promise.reject(new Error('broker down')) } as unknown as typeof ctx;
    await expect(queueDigests(failing, { anyTime: true, now })).rejects.toThrow(/broker down/);
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM digest_zone_runs')).rows[0].n).toBe(0);
    expect((await queueDigests(ctx, { anyTime: true, now })).users).toBe(4);
    await ctx.db.query('DELETE FROM digest_zone_runs');
  });

  it('compiles templates once and escapes HTML', () => {
    const render = compile('<p>{{name}}</p>{{#each items}}[{{.}}]{{/each}}{{#if flag}}!{{/if}}{{{raw}}}', { html: true });
    expect(render({ name: '<x>&', items: ['a', '<b>'], flag: true, raw: '<i>' })).toBe('<p>&lt;x&gt;&amp;</p>[a][&lt;b&gt;]!<i>');
    expect(() => compile('{{#each x}}', { html: true })).toThrow(/unclosed/);
  });
});

describe('digest sending', () => {
  it('writes each digest to the outbox once, however often the batch is retried', async () => {
    await addUser('dora', ['rust']); // follows a tag nobody posted in this week: an empty digest
    const batch = { week: '2026-W40', userIds: [ids.alice!, ids.bob!, ids.carol!, ids.dora!] };
    expect(await handleBatch(delivery(batch), ctx, outboxTransport(path.join(tmp, '.archipelago', 'outbox')))).toEqual({ sent: 2, empty: 1, skipped: 0, failed: 0 });
    expect(await handleBatch(delivery(batch, 2), ctx, outboxTransport(path.join(tmp, '.archipelago', 'outbox')))).toEqual({ sent: 0, empty: 0, skipped: 3, failed: 0 });
    const files = readdirSync(path.join(tmp, '.archipelago', 'outbox'));
    expect(files).toEqual(['digest-2026-W40.mbox']);
    const mbox = readFileSync(path.join(tmp, '.archipelago', 'outbox', files[0]!), 'utf8');
    const messages = mbox.split(/^From app-api@localhost /m).filter(Boolean);
    expect(messages).toHaveLength(2);
    const toBob = await parsed(messages.find((m) => m.includes('To: bob <bob@example.com>'))!);
    expect(toBob.messageId).toBe(`<digest-2026-W40-${ids.bob}@app-api.localhost>`);
    expect(toBob.text).toContain('Post a2 <b>');
    expect(toBob.html).toContain('Post a2 &lt;b&gt;');
    expect(toBob.all).not.toContain('Post marked');
    expect(toBob.all).not.toContain('Post b1');
    const sends = (await ctx.db.query(`SELECT user_id::text, status FROM digest_outcomes WHERE week = '2026-W40' ORDER BY user_id`)).rows;
    expect(sends).toEqual([{ user_id: ids.alice, status: 'sent' }, { user_id: ids.bob, status: 'sent' }, { user_id: ids.dora, status: 'empty' }]);
    const { rows: [bobSend] } = await ctx.db.query(`SELECT message_id FROM digest_outcomes WHERE week = '2026-W40' AND user_id = $1`, [ids.bob]);
    expect(`<${bobSend.message_id}>`).toBe(toBob.messageId);
    // Each claim row is written once: one chunk row marks the chunk sent, where a mark per user
    // made a second version of every claim (and its WAL).
    const written = (await ctx.db.query(`SELECT d.xmin::text AS claim, c.xmin::text AS mark, d.status, d.sent_at FROM digest_sends d JOIN digest_chunks c ON c.id = d.chunk WHERE d.week = '2026-W40' AND d.status = 'sending'`)).rows;
    expect(written).toHaveLength(2);
    expect(new Set(written.map((r) => r.claim)).size).toBe(1);
    expect(written.every((r) => r.claim !== r.mark && r.sent_at === null)).toBe(true);
    expect((await ctx.db.query(`SELECT count(*)::int AS n FROM digest_chunks WHERE week = '2026-W40'`)).rows[0].n).toBe(1);
  });

  it('delivers the same digests through SMTP, retries a refused connection, and never sends twice', async () => {
    const received: { to: string; data: string }[] = [];
    const server = new SMTPServer({
      authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
      onData(stream, session, cb) {
        let data = '';
        stream.on('data', (c: Buffer) => { data += c.toString(); });
        stream.on('end', () => { received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), data }); cb(); });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.server.address() as AddressInfo).port;
    try {
      const batch = { week: '2026-W41', userIds: [ids.bob!, ids.alice!] };
      // A closed port: the connection fails before delivery, so the claim is released for the retry.
      const dead = smtpTransport('smtp://127.0.0.1:1');
      await expect(handleBatch(delivery(batch), ctx, dead)).rejects.toMatchObject({ delivered: 0, beforeDelivery: true, cause: { command: 'CONN' } });
      expect((await ctx.db.query(`SELECT count(*)::int AS n FROM digest_sends WHERE week = '2026-W41'`)).rows[0].n).toBe(0);
      const smtp = smtpTransport(`smtp://127.0.0.1:${port}`);
      try {
        expect(await handleBatch(delivery(batch, 2), ctx, smtp)).toEqual({ sent: 2, empty: 0, skipped: 0, failed: 0 });
        expect(await handleBatch(delivery(batch, 3), ctx, smtp)).toEqual({ sent: 0, empty: 0, skipped: 2, failed: 0 });
      } finally {
        await smtp.close();
        await dead.close();
      }
      expect(received.map((r) => r.to).sort()).toEqual(['alice@example.com', 'bob@example.com']);
      const toBob = await parsed(received.find((r) => r.to === 'bob@example.com')!.data);
      expect(toBob.headers.get('x-digest-week')).toBe('2026-W41');
      expect(toBob.text).toContain('Post a2 <b>');
      expect(toBob.all).not.toContain('Post b1');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('marks a mail the server may have taken as failed, releases the rest, and the retry sends only those', async () => {
    const received: string[] = [];
    let refuse = 'bob@example.com';
    const server = new SMTPServer({
      authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
      onData(stream, session, cb) {
        const to = session.envelope.rcptTo.map((r) => r.address).join(',');
        stream.on('data', () => {});
        stream.on('end', () => {
          if (to === refuse) return cb(Object.assign(new Error('try later'), { responseCode: 451 }));
          received.push(to);
          cb();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const smtp = smtpTransport(`smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`);
    try {
      const batch = { week: '2026-W42', userIds: [ids.bob!, ids.alice!, ids.tokyo!] };
      // In id order: alice is delivered, bob is refused after DATA — the server may have stored it, so
      // bob is not retried — and tokyo was never tried.
      await expect(handleBatch(delivery(batch), ctx, smtp)).rejects.toMatchObject({ delivered: 1, beforeDelivery: false });
      const rows = async () => (await ctx.db.query(`SELECT user_id::text, status FROM digest_outcomes WHERE week = '2026-W42' ORDER BY user_id`)).rows;
      expect(await rows()).toEqual([{ user_id: ids.alice, status: 'sent' }, { user_id: ids.bob, status: 'failed' }]);
      refuse = '';
      expect(await handleBatch(delivery(batch, 2), ctx, smtp)).toEqual({ sent: 1, empty: 0, skipped: 2, failed: 0 });
      expect(received).toEqual(['alice@example.com', 'tokyo@example.com']);
    } finally {
      await smtp.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('releases its claims when shutting down before sending, so the retry sends them', async () => {
    const outbox = outboxTransport(path.join(tmp, 'abort'));
    const d = [...(await selectDigests(ctx.db, [ids.bob!, ids.alice!], { limit: 10 })).values()];
    const ac = new AbortController();
    ac.abort();
    await expect(sendDigests(ctx.db, outbox, d, '2026-W43', { from: 'd@x.test', appUrl: 'http://x.test', signal: ac.signal })).rejects.toThrow(/shutting down/);
    expect((await ctx.db.query(`SELECT count(*)::int AS n FROM digest_sends WHERE week = '2026-W43'`)).rows[0].n).toBe(0);
    expect(await sendDigests(ctx.db, outbox, d, '2026-W43', { from: 'd@x.test', appUrl: 'http://x.test' })).toEqual({ sent: 2, empty: 0, skipped: 0, failed: 0 });
  });
});

describe('digest outbox', () => {
  it('keeps every entry whole when large chunks are appended concurrently', async () => {
    const dir = path.join(tmp, 'concurrent');
    const chunk = (n: number) => Array.from({ length: 120 }, (_, i) => ({
      from: 'd@x.test', to: `u${n}-${i} <u${n}-${i}@x.test>`, subject: `s ${n}-${i}`, messageId: `m-${n}-${i}@x.test`,
      text: `text ${n}-${i}\n`.repeat(200), html: `<p>html ${n}-${i}</p>`.repeat(150),
    }));
    // Four transports, as four replicas, each appending ~1 MB at once.
    await Promise.all([0, 1, 2, 3].map((n) => outboxTransport(dir).sendAll(chunk(n), 'big')));
    const entries = readFileSync(path.join(dir, 'big.mbox'), 'utf8').split(/^From app-api@localhost /m).filter(Boolean);
    expect(entries).toHaveLength(480);
    for (const e of entries.slice(0, 40).concat(entries.slice(-40))) {
      const m = await simpleParser(e.slice(e.indexOf('\n') + 1));
      const id = /^<m-(\d+-\d+)@x\.test>$/.exec(m.messageId ?? '')?.[1];
      expect(m.text).toBe(`text ${id}\n`.repeat(200));
    }
  });

  it('reuses its encoding buffers without mixing chunks: at once, one after another, small and large, non-ASCII', async () => {
    const dir = path.join(tmp, 'reuse');
    const outbox = outboxTransport(dir);
    const chunk = (n: number, size: number, lines: number) => Array.from({ length: size }, (_, i) => ({
      from: 'd@x.test', to: `Zoë ${n}-${i} <u${n}-${i}@x.test>`, subject: `ünï ${n}-${i}`, messageId: `r-${n}-${i}@x.test`,
      text: `tëxt ${n}-${i} ✓\n`.repeat(lines), html: `<p>${n}-${i}</p>`,
    }));
    // Two chunks at once (two buffers), then a chunk that outgrows 1 MiB, then small ones reusing them.
    await Promise.all([outbox.sendAll(chunk(0, 50, 20), 'reuse'), outbox.sendAll(chunk(1, 50, 20), 'reuse')]);
    await outbox.sendAll(chunk(2, 100, 600), 'reuse');
    await outbox.sendAll(chunk(3, 3, 1), 'reuse');
    await Promise.all([outbox.sendAll(chunk(4, 2, 1), 'reuse'), outbox.sendAll(chunk(5, 1, 1), 'reuse')]);
    const entries = readFileSync(path.join(dir, 'reuse.mbox'), 'utf8').split(/^From app-api@localhost /m).filter(Boolean);
    expect(entries).toHaveLength(206);
    const seen = new Set<string>();
    for (const e of entries) {
      const m = await simpleParser(e.slice(e.indexOf('\n') + 1));
      const id = /^<r-(\d+)-(\d+)@x\.test>$/.exec(m.messageId ?? '');
      expect(id, e.slice(0, 200)).not.toBeNull();
      const [n, i] = [id![1], id![2]];
      expect(m.subject).toBe(`ünï ${n}-${i}`);
      expect(m.text).toBe(`tëxt ${n}-${i} ✓\n`.repeat(n === '2' ? 600 : n === '0' || n === '1' ? 20 : 1));
      seen.add(`${n}-${i}`);
    }
    expect(seen.size).toBe(206);
  });
});

describe('digest cleanup', () => {
  it('drops sends older than 90 days and those of users deleted by hand, keeps the rest', async () => {
    const [, sql] = CLEANUP.find(([what]) => what === 'digest_sends')!;
    await ctx.db.query(`INSERT INTO digest_sends (user_id, week, status, claimed_at) VALUES
      ($1, '2026-W01', 'sent', now() - interval '91 days'), ($1, '2026-W02', 'sent', now() - interval '80 days'), (987654321, '2026-W02', 'sent', now())`, [ids.bob]);
    await ctx.db.query(sql);
    const { rows } = await ctx.db.query(`SELECT user_id::text, week FROM digest_sends WHERE week IN ('2026-W01', '2026-W02')`);
    expect(rows).toEqual([{ user_id: ids.bob, week: '2026-W02' }]);
    const [, chunks] = CLEANUP.find(([what]) => what === 'digest_chunks')!;
    await ctx.db.query(`INSERT INTO digest_chunks (id, week, sent_at) VALUES (gen_random_uuid(), '2026-W01', now() - interval '91 days'), (gen_random_uuid(), '2026-W02', now() - interval '80 days')`);
    await ctx.db.query(chunks);
    expect((await ctx.db.query(`SELECT week FROM digest_chunks WHERE week IN ('2026-W01', '2026-W02')`)).rows).toEqual([{ week: '2026-W02' }]);
  });
});

describe('digest MIME', () => {
  it('builds a message a mail parser reads back: encoded non-ASCII headers, base64 parts, short lines', async () => {
    const raw = buildMime({
      from: 'Digest Team <digest@x.test>', to: 'Zoë Ångström <zoe@x.test>', subject: `Ta semaine: ${'éèà '.repeat(20)}✓`,
      html: `<p>${'naïve '.repeat(100)}</p>`, text: 'plain\nFrom the top\n', messageId: 'digest-W1-1@x.test', headers: { 'X-Digest-Week': '2026-W01' },
    });
    expect(raw.split('\r\n').filter((line) => line.length > 78)).toEqual([]);
    const m = await simpleParser(raw);
    expect(m.subject).toBe(`Ta semaine: ${'éèà '.repeat(20)}✓`);
    expect(m.to && !Array.isArray(m.to) ? m.to.value[0] : undefined).toEqual({ name: 'Zoë Ångström', address: 'zoe@x.test' });
    expect(m.text).toBe('plain\nFrom the top\n');
    expect(m.html).toContain('naïve naïve');
    expect(m.messageId).toBe('<digest-W1-1@x.test>');
    expect(() => buildMime({ from: 'a@x.test', to: 'b@x.test\r\nBcc: c@x.test', subject: 's', html: '', text: '', messageId: 'm@x' })).toThrow(/To contains a line break/);
  });
});
