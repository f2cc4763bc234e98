// Typed topics: a name plus a runtime schema checked on publish and on consume.
import type { z } from 'zod';

export interface Topic<T = unknown> {
  readonly name: string;
  readonly schema: z.ZodType<T>;
  /** Phantom field carrying the message type. */
  readonly __message?: T;
}

export type MessageOf<P> = P extends Topic<infer T> ? T : never;

const TOPIC_NAME = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;

export function topic<T>(name: string, opts: { schema: z.ZodType<T> }): Topic<T> {
  if (!TOPIC_NAME.test(name)) throw new TypeError(`topic name "${name}" must be lowercase letters, digits, '-', '_' or '.'`);
  return Object.freeze({ name, schema: opts.schema });
}
