// The testing helpers run a worker's handlers in-process and surface their errors.
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestBus, HandlerError, type TestBus } from '../../src/testing/index.js';
import { topic } from '../../src/messaging/topic.js';
import { subscribe, worker } from '../../src/units/define.js';

const Upvoted = topic('post-upvoted', { schema: z.object({ postId: z.number() }) });
const Notified = topic('notified', { schema: z.object({ postId: z.number() }) });

describe('createTestBus', () => {
  let bus: TestBus | undefined;
  afterEach(async () => { await bus?.close(); bus = undefined; });

  it('publishAndWait resolves after every subscription on the topic handled the message, including follow-up publishes', async () => {
    const counts = new Map<number, number>();
    const notified: number[] = [];
    const w = worker({
      subscriptions: [
        subscribe(Upvoted, 'count', async (d, ctx) => {
          counts.set(d.message.postId, (counts.get(d.message.postId) ?? 0) + 1);
          await ctx.publish(Notified, { postId: d.message.postId });
        }),
        subscribe(Notified, 'notify', (d) => { notified.push(d.message.postId); }),
      ],
    });
    bus = createTestBus();
    await bus.run(w);
    await bus.publishAndWait(Upvoted, { postId: 7 });
    expect(counts.get(7)).toBe(1);
    await bus.publishAndWait(Notified, { postId: 8 });
    expect(notified).toContain(8);
  });

  it('publishAndWait rejects with the handler error, and the message still retries into dead letters', async () => {
    bus = createTestBus();
    await bus.run([subscribe(Upvoted, 'broken', () => { throw new Error('no such post'); }, { maxAttempts: 2, backoff: { initial: '1ms' } })]);
    const err = await bus.publishAndWait(Upvoted, { postId: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).message).toContain('no such post');
    const until = Date.now() + 5000;
    while ((await bus.deadLetters('broken')).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect((await bus.deadLetters('broken'))[0]).toMatchObject({ attempts: 2, payload: { postId: 1 } });
  });

  it('rejects a message that breaks the topic schema before any handler runs', async () => {
    bus = createTestBus();
    await bus.run([subscribe(Upvoted, 'count', () => {})]);
    await expect(bus.publishAndWait(Upvoted, { postId: 'x' } as never)).rejects.toMatchObject({ code: 'ARCH_E_SCHEMA' });
  });
});
