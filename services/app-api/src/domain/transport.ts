// Mail transports: a file outbox (mbox files under `<root>/.archipelago/outbox/`) by default,
// SMTP through nodemailer when SMTP_URL is set. Both hand over the same MIME text (see mime.ts).
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { addressOf, buildMime, type Mail } from './mime.js';

export type { Mail } from './mime.js';

/**
 * A failed `sendAll`: the first `delivered` mails were certainly handed over; `beforeDelivery`
 * says whether the failing mail certainly was not (the rest never were attempted).
 */
export class SendError extends Error {
  constructor(readonly delivered: number, readonly beforeDelivery: boolean, cause: unknown) {
    super(`mail transport failed after ${delivered} delivered: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'SendError';
  }
}

export interface Transport {
  readonly kind: 'outbox' | 'smtp';
  /** Hands the mails over in order; resolves once all are stored (outbox) or accepted (SMTP). */
  sendAll(mails: readonly Mail[], mailbox?: string): Promise<void>;
  close(): Promise<void>;
}

/** nodemailer error codes raised before the server could have accepted the message. */
const BEFORE_DELIVERY = new Set(['ECONNECTION', 'EDNS', 'EAUTH', 'ETLS', 'EENVELOPE', 'ENOAUTH', 'EINVALIDHOST']);
/**
 * True when the failure certainly happened before the message was handed over: a known early code,
 * or any error during an SMTP command before DATA (connect, greeting, auth, envelope). A failure
 * during or after DATA is ambiguous: the server may have accepted the mail.
 */
export function failedBeforeDelivery(err: unknown): boolean {
  const e = err as { code?: string; command?: string } | undefined;
  if (BEFORE_DELIVERY.has(e?.code ?? '')) return true;
  const command = e?.command?.toUpperCase();
  return command !== undefined && !command.startsWith('DATA') && command !== 'MESSAGE';
}

/** mboxrd: every line starting with `From ` (after any `>`s) gets one more `>`. */
export function mboxEntry(raw: string, from: string, date: Date): string {
  const lf = raw.includes('\r') ? raw.replace(/\r\n/g, '\n') : raw;
  const body = /^>*From /m.test(lf) ? lf.replace(/^(>*From )/gm, '>$1') : lf;
  return `From ${from} ${date.toUTCString().replace(',', '')}\n${body}${body.endsWith('\n') ? '' : '\n'}\n`;
}

export function outboxTransport(dir: string): Transport {
  let made: Promise<unknown> | undefined;
  /** Encoding buffers not in use: one per chunk being written at the same time. */
  const buffers: Buffer[] = [];
  return {
    kind: 'outbox',
    async sendAll(mails, mailbox = 'outbox') {
      if (!mails.length) return;
      try {
        made ??= mkdir(dir, { recursive: true });
        await made;
      } catch (err) {
        made = undefined;
        throw new SendError(0, true, err);
      }
      const now = new Date();
      // Each entry is encoded straight into a reused buffer: joining a chunk's entries into one
      // string and encoding that (Buffer.from) made V8 flatten a ~700 KB string and allocate fresh
      // pages for it and for the buffer on every chunk, 8 % of a digest replica's CPU (perf).
      let data = buffers.pop() ?? Buffer.allocUnsafe(1 << 20);
      let size = 0;
      for (const mail of mails) {
        const entry = mboxEntry(buildMime(mail, now, '\n'), 'app-api@localhost', now);
        // A UTF-16 code unit is at most 3 bytes of UTF-8.
        if (size + entry.length * 3 > data.length) {
          const bigger = Buffer.allocUnsafe(Math.max(data.length * 2, size + entry.length * 3));
          data.copy(bigger, 0, 0, size);
          data = bigger;
        }
        size += data.write(entry, size);
      }
      try {
        const fh = await open(path.join(dir, `${mailbox}.mbox`), 'a');
        try {
          const { bytesWritten } = await fh.write(data, 0, size);
          if (bytesWritten !== size) throw new Error(`short write to ${mailbox}.mbox: ${bytesWritten} of ${size} bytes`);
        } finally {
          await fh.close();
        }
      } catch (err) {
        throw new SendError(0, false, err);
      } finally {
        // Kept for the next chunk (one per chunk written at once), unless it grew past 8 MiB.
        if (data.length <= 8 << 20) buffers.push(data);
      }
    },
    async close() {},
  };
}

export function smtpTransport(url: string): Transport {
  const t = nodemailer.createTransport(url);
  return {
    kind: 'smtp',
    async sendAll(mails) {
      for (let i = 0; i < mails.length; i++) {
        const mail = mails[i]!;
        try {
          await t.sendMail({ envelope: { from: addressOf(mail.from), to: [addressOf(mail.to)] }, raw: buildMime(mail) });
        } catch (err) {
          throw new SendError(i, failedBeforeDelivery(err), err);
        }
      }
    },
    async close() { t.close(); },
  };
}

export function transportFor(config: Readonly<Record<string, string | undefined>>, root: string): Transport {
  return config.SMTP_URL ? smtpTransport(config.SMTP_URL) : outboxTransport(path.join(root, '.archipelago', 'outbox'));
}
