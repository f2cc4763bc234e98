// Issue 14, finding 3, through the real digest path (handleBatch, PostgreSQL, the mbox outbox): a
// post title with CR/LF at the top of everyone's digest is a one-line Subject, and a recipient whose
// digest cannot be built fails alone, with the reason recorded, while the rest of the batch is sent.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Delivery } from 'archipelago-toolkit';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMime } from '../src/domain/mime.js';
import { outboxTransport } from '../src/domain/transport.js';
import type { DigestBatch } from '../src/topics.js';
import { handleBatch } from '../src/units/digest.js';
import { migratedDatabase, unitContext, type TestContext } from './support/context.js';

let ctx: TestContext;
let tmp: string;
const delivery = (message: DigestBatch, attempt = 1) => ({ id: 'p', message, attempt, publishedAt: new Date(), topic: 'digest', subscription: 'digest-send' }) as Delivery<DigestBatch>;

async function addUser(name: string, email = `${name}@example.com`): Promise<string> {
  const { rows } = await ctx.db.query(
    `INSERT INTO users (username, email, password_hash, tags) VALUES ($1, $2, 'x', '{ts}') RETURNING id::text`, [name, email]);
  return rows[0].id;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'appapi-poison-'));
  ctx = await unitContext(await migratedDatabase(), 'digest', { root: tmp });
});
afterAll(async () => {
  await ctx?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('digest poison data', () => {
  it('sends every other user of the batch and records the one that cannot be built, with its reason', async () => {
    const author = await addUser('author');
    // Written straight to the table: the API refuses such a title now, older rows or imports may hold one.
    await ctx.db.query(`INSERT INTO posts (author_id, title, tags, upvotes) VALUES ($1, $2, '{ts}', 99), ($1, 'second', '{ts}', 5)`,
      [author, 'Breaking\r\nBcc: everyone@example.com\r\n\r\nhello']);
    const readers = [];
    for (let i = 0; i < 6; i++) readers.push(await addUser(`reader${i}`));
    const poisoned = await addUser('mallory', 'mallory@example.com\r\nBcc: all@example.com');
    // The poisoned user sits in the middle of the batch, before others in id order.
    const userIds = [...readers.slice(0, 3), poisoned, ...readers.slice(3)];
    const outbox = outboxTransport(path.join(tmp, 'outbox'));

    expect(await handleBatch(delivery({ week: '2026-W45', userIds }), ctx, outbox)).toEqual({ sent: 6, empty: 0, skipped: 0, failed: 1 });

    const entries = readFileSync(path.join(tmp, 'outbox', 'digest-2026-W45.mbox'), 'utf8').split(/^From app-api@localhost /m).filter(Boolean);
    expect(entries).toHaveLength(6);
    const recipients: string[] = [];
    for (const e of entries) {
      const raw = e.slice(e.indexOf('\n') + 1);
      const head = raw.slice(0, raw.indexOf('\n\n'));
      expect(head).not.toMatch(/^Bcc:/im);
      const m = await simpleParser(raw);
      expect(m.subject).toBe('Your week 2026-W45: Breaking Bcc: everyone@example.com hello');
      expect(m.bcc).toBeUndefined();
      recipients.push((m.to && !Array.isArray(m.to) ? m.to.value[0]?.address : undefined) ?? '');
    }
    expect(recipients.sort()).toEqual(readers.map((_, i) => `reader${i}@example.com`).sort());

    // The query the README gives for digests that were not sent.
    const failed = (await ctx.db.query(`SELECT user_id::text, week, error FROM digest_outcomes WHERE status = 'failed'`)).rows;
    expect(failed).toEqual([{ user_id: poisoned, week: '2026-W45', error: 'To contains a line break' }]);
    const sent = (await ctx.db.query(`SELECT count(*)::int AS n FROM digest_outcomes WHERE week = '2026-W45' AND status = 'sent'`)).rows[0].n;
    expect(sent).toBe(6);

    // A redelivery of the batch sends nobody twice and does not retry the poisoned user.
    expect(await handleBatch(delivery({ week: '2026-W45', userIds }, 2), ctx, outbox)).toEqual({ sent: 0, empty: 0, skipped: 7, failed: 0 });
  });

  it('keeps header text on one line and encodes non-ASCII, but refuses an address with a line break', async () => {
    const raw = buildMime({
      from: 'Digest <d@x.test>', to: 'Zoë\r\nBcc: x@y.test <zoe@x.test>', subject: 'Ünïcode\r\ntitle\u0000end', html: '', text: '',
      messageId: 'm@x.test', headers: { 'X-Note': 'a\nb' },
    });
    const head = raw.slice(0, raw.indexOf('\r\n\r\n')).split('\r\n');
    expect(head.filter((l) => /^\S/.test(l)).map((l) => l.split(':')[0])).toEqual(['From', 'To', 'Subject', 'Date', 'Message-ID', 'X-Note', 'MIME-Version', 'Content-Type']);
    const m = await simpleParser(raw);
    expect(m.subject).toBe('Ünïcode title end');
    expect(m.to && !Array.isArray(m.to) ? m.to.value[0] : undefined).toEqual({ name: 'Zoë Bcc: x@y.test', address: 'zoe@x.test' });
    expect(m.headers.get('x-note')).toBe('a b');
    expect(() => buildMime({ from: 'd@x.test', to: 'Zoë <zoe@x.test\r\nBcc: x@y.test>', subject: 's', html: '', text: '', messageId: 'm@x' })).toThrow(/To contains a line break/);
    expect(() => buildMime({ from: 'd@x.test', to: 'a@b.test', subject: 's', html: '', text: '', messageId: 'm@x>\r\nBcc: c' })).toThrow(/Message-ID/);
  });
});
