// The NATS headers the nats broker writes on each message and reads back: its own `Arch-*`
// bookkeeping (id, publish time, topic, a replay's one subscription) beside the message's headers.
import { headers as natsHeaders, JSONCodec, type JsMsg, type MsgHdrs } from 'nats';
import type { MessageHeaders } from '../broker.js';

export const jc = JSONCodec();
const H_ID = 'Arch-Id';
export const H_PUBLISHED = 'Arch-Published-At';
const H_TOPIC = 'Arch-Topic';
/** A replayed dead letter is for one subscription only; the others on its topic ack it unseen. */
export const H_ONLY = 'Arch-Only-For';

export function messageHeadersFor(topic: string, m: { id: string; publishedAt: Date; headers?: MessageHeaders }, only?: string): MsgHdrs {
  const h = natsHeaders();
  h.set(H_ID, m.id); h.set(H_PUBLISHED, m.publishedAt.toISOString()); h.set(H_TOPIC, topic);
  if (only) h.set(H_ONLY, only);
  for (const [k, v] of Object.entries(m.headers ?? {})) h.set(k, v);
  return h;
}

/** The message's own headers: every NATS header but the broker's `Arch-*` bookkeeping. */
function ownHeaders(h: MsgHdrs | undefined): Record<string, string> | undefined {
  if (!h) return undefined;
  let out: Record<string, string> | undefined;
  for (const k of h.keys()) if (!k.startsWith('Arch-')) (out ??= {})[k] = h.get(k);
  return out;
}

/** A delivered message as the broker describes it (`topic` when the headers do not say). */
export function describeMessage(m: JsMsg, topic: string) {
  const h = m.headers;
  const headers = ownHeaders(h);
  return {
    id: h?.get(H_ID) || String(m.seq), topic: h?.get(H_TOPIC) || topic, payload: jc.decode(m.data), publishedAt: new Date(h?.get(H_PUBLISHED) || m.info.timestampNanos / 1e6),
    ...(headers ? { headers } : {}),
  };
}
