// The NATS headers the nats broker writes on each message and reads back: its own `Arch-*`
// bookkeeping (id, publish time, topic, a replay's one subscription) beside the message's headers.
import { canonicalMIMEHeaderKey, JSONCodec, MsgHdrsImpl, type JsMsg, type MsgHdrs } from 'nats';
import type { MessageHeaders } from '../broker.js';

export const jc = JSONCodec();
const H_ID = 'Arch-Id';
export const H_PUBLISHED = 'Arch-Published-At';
const H_TOPIC = 'Arch-Topic';
/** A replayed dead letter is for one subscription only; the others on its topic ack it unseen. */
export const H_ONLY = 'Arch-Only-For';
/** JetStream's deduplication id: written here rather than by the client's `msgID` option. */
const H_MSG_ID = 'Nats-Msg-Id';

/** A header value as the client's own `set` would store it: trimmed, refused with a CR or LF. */
const value = (v: string) => MsgHdrsImpl.validHeaderValue(v);

/**
 * The headers of one publish, `msgId` (JetStream's deduplication id) among them. Built straight
 * from a record: the client's `set` looks each key up twice and copies the key list each time, a
 * visible share of a publish's CPU; the values are still checked as `set` checks them.
 */
export function messageHeadersFor(topic: string, m: { id: string; publishedAt: Date; headers?: MessageHeaders }, only?: string, msgId: string = m.id): MsgHdrs {
  const r: Record<string, string[]> = { [H_ID]: [value(m.id)], [H_PUBLISHED]: [m.publishedAt.toISOString()], [H_TOPIC]: [value(topic)] };
  if (only) r[H_ONLY] = [value(only)];
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) { canonicalMIMEHeaderKey(k); r[k] = [value(v)]; }
  r[H_MSG_ID] = [value(msgId)];
  return MsgHdrsImpl.fromRecord(r);
}

/** What a delivered message's headers say, read in one pass over them. */
export interface MessageMeta {
  /** The broker's id ('' when the headers do not say). */
  readonly id: string;
  readonly topic: string;
  readonly publishedAt: string;
  readonly only: string;
  /** The message's own headers: every NATS header but the broker's `Arch-*` bookkeeping. */
  readonly headers?: Record<string, string>;
}

const NONE: MessageMeta = { id: '', topic: '', publishedAt: '', only: '' };

export function readMeta(h: MsgHdrs | undefined): MessageMeta {
  if (!h) return NONE;
  let id = '', topic = '', publishedAt = '', only = '';
  let headers: Record<string, string> | undefined;
  // One pass over the entries: the client's `get` copies and filters the key list per call.
  for (const [k, vs] of h) {
    const v = vs[0] ?? '';
    if (k === H_ID) id = v;
    else if (k === H_TOPIC) topic = v;
    else if (k === H_PUBLISHED) publishedAt = v;
    else if (k === H_ONLY) only = v;
    else if (!k.startsWith('Arch-')) (headers ??= {})[k] = v;
  }
  return headers ? { id, topic, publishedAt, only, headers } : { id, topic, publishedAt, only };
}

/** The message's id: the broker's own, or its stream sequence when the headers do not say. */
export const messageId = (m: JsMsg, meta: MessageMeta) => meta.id || String(m.seq);

/** A delivered message as the broker describes it (`topic` when the headers do not say). */
export function describeMessage(m: JsMsg, topic: string, meta: MessageMeta = readMeta(m.headers)) {
  return {
    id: messageId(m, meta), topic: meta.topic || topic, payload: jc.decode(m.data), publishedAt: new Date(meta.publishedAt || m.info.timestampNanos / 1e6),
    ...(meta.headers ? { headers: meta.headers } : {}),
  };
}
