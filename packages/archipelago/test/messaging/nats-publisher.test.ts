// The nats broker's publisher: JetStream's answers matched on one inbox, per window of publishes.
import { randomBytes } from 'node:crypto';
import { connect, headers, JSONCodec, RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetStreamPublisher, type Publisher } from '../../src/messaging/brokers/nats-publisher.js';
import { NATS_URL, requireNats } from './nats-env.js';

const run = await requireNats('nats-publisher.test.ts');
const stream = `pub_${randomBytes(4).toString('hex')}`;
const jc = JSONCodec();
let nc: NatsConnection;
let p: Publisher;

const msg = (subject: string, n: number, extra: Record<string, string> = {}) => {
  const h = headers();
  h.set('Nats-Msg-Id', `m-${n}`);
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return { subject, data: jc.encode({ n }), headers: h };
};

if (run) {
  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.add({ name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Limits, storage: StorageType.Memory });
    p = jetStreamPublisher(nc);
  });
  afterAll(async () => {
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
    await nc.close();
  });
}

describe.runIf(run)('nats publisher', () => {
  it('resolves once JetStream stored every message of the window, deduplicated by message id', async () => {
    await p.publish(Array.from({ length: 2500 }, (_, n) => msg(`${stream}.a`, n)), 10_000);
    await p.publish([msg(`${stream}.a`, 7)], 10_000);
    const info = await (await nc.jetstreamManager()).streams.info(stream);
    expect(info.state.messages).toBe(2500);
  });

  it('rejects with JetStream\'s refusal, with a 503 when no stream takes the subject, and after the timeout when nothing answers', async () => {
    await expect(p.publish([msg(`${stream}.a`, 1, { 'Nats-Expected-Stream': 'another' })], 10_000)).rejects.toThrow(/expected stream does not match \(10060\)/);
    await expect(p.publish([msg(`nostream_${stream}.a`, 1)], 10_000)).rejects.toThrow(/503/);
    const silent = nc.subscribe(`silent_${stream}`);
    const started = Date.now();
    await expect(p.publish([msg(`silent_${stream}`, 1), msg(`${stream}.a`, 9000)], 300)).rejects.toThrow('JetStream acknowledged 1 of 2 messages within 300 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    silent.unsubscribe();
    // A failed window leaves nothing behind: the next one resolves on its own answers.
    await p.publish([msg(`${stream}.a`, 9001)], 10_000);
  });
});

if (!run) describe('nats publisher', () => { it.skip(`NATS is not reachable at ${NATS_URL}`, () => {}); });
