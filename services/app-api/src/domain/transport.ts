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
      let entries = '';
      for (const mail of mails) entries += mboxEntry(buildMime(mail, now, '\n'), 'app-api@localhost', now);
      // One write(2) on an O_APPEND descriptor for the whole chunk: Linux serialises appends to a
      // regular file, so concurrent replicas never interleave entries. (fs.appendFile splits data
      // over 512 KiB into several writes, and a 100-mail chunk is larger.) A failed or short write
      // may have stored part of it, so it is not known to be before delivery.
      const data = Buffer.from(entries);
      try {
        const fh = await open(path.join(dir, `${mailbox}.mbox`), 'a');
        try {
          const { bytesWritten } = await fh.write(data);
          if (bytesWritten !== data.length) throw new Error(`short write to ${mailbox}.mbox: ${bytesWritten} of ${data.length} bytes`);
        } finally {
          await fh.close();
        }
      } catch (err) {
        throw new SendError(0, false, err);
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
