// Mail transports: a file outbox (mbox files under `<root>/.archipelago/outbox/`) by default,
// SMTP through nodemailer when SMTP_URL is set. Both build the same MIME message with nodemailer.
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

export interface Mail { from: string; to: string; subject: string; html: string; text: string; headers?: Record<string, string> }

export interface Transport {
  readonly kind: 'outbox' | 'smtp';
  /** Resolves once the message is stored (outbox) or accepted by the server (SMTP). */
  send(mail: Mail, mailbox?: string): Promise<{ messageId: string }>;
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
  const body = raw.replace(/\r\n/g, '\n').replace(/^(>*From )/gm, '>$1');
  return `From ${from} ${date.toUTCString().replace(',', '')}\n${body}${body.endsWith('\n') ? '' : '\n'}\n`;
}

export function outboxTransport(dir: string): Transport {
  const builder = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  let made: Promise<unknown> | undefined;
  return {
    kind: 'outbox',
    async send(mail, mailbox = 'outbox') {
      made ??= mkdir(dir, { recursive: true });
      await made;
      const info = await builder.sendMail(mail);
      // One append per message: concurrent replicas never interleave partial entries.
      await appendFile(path.join(dir, `${mailbox}.mbox`), mboxEntry(String(info.message), 'app-api@localhost', new Date()));
      return { messageId: info.messageId };
    },
    async close() { builder.close(); },
  };
}

export function smtpTransport(url: string): Transport {
  const t = nodemailer.createTransport(url);
  return {
    kind: 'smtp',
    async send(mail) {
      const info = await t.sendMail(mail);
      return { messageId: info.messageId };
    },
    async close() { t.close(); },
  };
}

export function transportFor(config: Readonly<Record<string, string | undefined>>, root: string): Transport {
  return config.SMTP_URL ? smtpTransport(config.SMTP_URL) : outboxTransport(path.join(root, '.archipelago', 'outbox'));
}
