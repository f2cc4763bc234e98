// What a unit's entry file default-exports: one typed helper per kind. The definitions are plain
// data so that tooling (synth, the autoscaler, `archipelago topics`) can read a worker's
// subscriptions by importing its entry file, without running it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { ResolvedService, ResolvedUnit } from '../service/types.js';
import type { Delivery, PublishOptions, SubscribeOptions } from '../messaging/contract.js';
import type { Topic } from '../messaging/topic.js';

/** What every unit's code receives, whatever its kind. */
export interface UnitContext {
  readonly service: ResolvedService;
  readonly unit: ResolvedUnit;
  /** This replica's id, e.g. `api-2`. */
  readonly replica: string;
  readonly db: pg.Pool;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Aborted when the replica starts shutting down. */
  readonly signal: AbortSignal;
  /** The environment this unit may read: its `env`, its declared `secrets`, and the toolkit's own. */
  readonly config: Readonly<Record<string, string | undefined>>;
  publish<T>(topic: Topic<T>, message: T, opts?: PublishOptions): Promise<string>;
  /** Publishes many messages in few round trips; returns their ids. */
  publishMany<T>(topic: Topic<T>, messages: readonly T[], opts?: Omit<PublishOptions, 'id'>): Promise<string[]>;
  /** Ephemeral delivery to every live replica listening on the topic; nothing is stored. */
  broadcast<T>(topic: Topic<T>, message: T): Promise<void>;
}

export type Handler<T> = (delivery: Delivery<T>, ctx: UnitContext) => Promise<void> | void;

export interface SubscriptionDefinition<T = any> {
  readonly type: 'subscription';
  readonly topic: Topic<T>;
  readonly name: string;
  readonly handler: Handler<T>;
  readonly options: SubscribeOptions;
}
export interface BroadcastDefinition<T = any> {
  readonly type: 'broadcast';
  readonly topic: Topic<T>;
  readonly handler: (message: T, ctx: UnitContext) => Promise<void> | void;
}

export function subscribe<T>(topic: Topic<T>, name: string, handler: Handler<T>, options: SubscribeOptions = {}): SubscriptionDefinition<T> {
  return Object.freeze({ type: 'subscription', topic, name, handler, options: Object.freeze({ ...options }) });
}
export function broadcast<T>(topic: Topic<T>, handler: BroadcastDefinition<T>['handler']): BroadcastDefinition<T> {
  return Object.freeze({ type: 'broadcast', topic, handler });
}

export interface ApiDefinition {
  readonly kind: 'api';
  readonly routes: (app: FastifyInstance, ctx: UnitContext) => Promise<void> | void;
  /** Topics this unit publishes (declared so the toolkit can warn about unheard subscriptions). */
  readonly publishes: readonly Topic[];
}
export interface WorkerDefinition {
  readonly kind: 'worker';
  readonly subscriptions: readonly SubscriptionDefinition[];
  readonly broadcasts: readonly BroadcastDefinition[];
  readonly publishes: readonly Topic[];
  readonly setup?: (ctx: UnitContext) => Promise<void> | void;
}

/** One WebSocket connection of a realtime unit. */
export interface Connection<P = unknown> {
  readonly id: string;
  readonly principal: P;
  readonly socket: WebSocket;
  readonly channels: ReadonlySet<string>;
  send(data: unknown): boolean;
  join(channel: string): boolean;
  leave(channel: string): void;
  close(code?: number, reason?: string): void;
}
export interface RealtimeHub {
  /** Sends to every connection of this replica in the channel; returns how many got it. */
  publish(channel: string, data: unknown): number;
  readonly connections: number;
}
export interface RealtimeDefinition<P = unknown> {
  readonly kind: 'realtime';
  /** WebSocket path. Default `/live`. */
  readonly path: string;
  readonly authenticate: (req: IncomingMessage, ctx: UnitContext) => Promise<P | null | undefined> | P | null | undefined;
  readonly onOpen?: (conn: Connection<P>, hub: RealtimeHub, ctx: UnitContext) => Promise<void> | void;
  readonly onMessage?: (conn: Connection<P>, data: unknown, hub: RealtimeHub, ctx: UnitContext) => Promise<void> | void;
  readonly onClose?: (conn: Connection<P>, hub: RealtimeHub, ctx: UnitContext) => void;
  /** Broadcast topics delivered to this replica; the handler usually fans out through the hub. */
  readonly broadcasts: readonly { topic: Topic<any>; handler: (message: any, hub: RealtimeHub, ctx: UnitContext) => void | Promise<void> }[];
  readonly limits: { readonly maxMessageBytes: number; readonly maxChannels: number; readonly maxBufferedBytes: number; readonly heartbeatMs: number };
  readonly publishes: readonly Topic[];
  readonly routes?: (app: FastifyInstance, ctx: UnitContext) => Promise<void> | void;
}
export interface TaskContext extends UnitContext { readonly args: readonly string[] }
export interface TaskDefinition {
  readonly kind: 'task';
  readonly run: (ctx: TaskContext) => Promise<void> | void;
  readonly publishes: readonly Topic[];
}
export type UnitDefinition = ApiDefinition | WorkerDefinition | RealtimeDefinition<any> | TaskDefinition;

export function api(routes: ApiDefinition['routes'], opts: { publishes?: Topic[] } = {}): ApiDefinition {
  return Object.freeze({ kind: 'api', routes, publishes: opts.publishes ?? [] });
}
export function worker(def: { subscriptions?: SubscriptionDefinition[]; broadcasts?: BroadcastDefinition[]; publishes?: Topic[]; setup?: WorkerDefinition['setup'] }): WorkerDefinition {
  return Object.freeze({ kind: 'worker', subscriptions: def.subscriptions ?? [], broadcasts: def.broadcasts ?? [], publishes: def.publishes ?? [], setup: def.setup });
}
export function realtime<P>(def: {
  path?: string;
  authenticate: RealtimeDefinition<P>['authenticate'];
  onOpen?: RealtimeDefinition<P>['onOpen'];
  onMessage?: RealtimeDefinition<P>['onMessage'];
  onClose?: RealtimeDefinition<P>['onClose'];
  broadcasts?: RealtimeDefinition<P>['broadcasts'];
  limits?: Partial<RealtimeDefinition<P>['limits']>;
  publishes?: Topic[];
  routes?: RealtimeDefinition<P>['routes'];
}): RealtimeDefinition<P> {
  return Object.freeze({
    kind: 'realtime', path: def.path ?? '/live', authenticate: def.authenticate, onOpen: def.onOpen, onMessage: def.onMessage, onClose: def.onClose,
    broadcasts: def.broadcasts ?? [], publishes: def.publishes ?? [], routes: def.routes,
    limits: { maxMessageBytes: 4096, maxChannels: 100, maxBufferedBytes: 1 << 20, heartbeatMs: 30_000, ...def.limits },
  });
}
export function task(run: TaskDefinition['run'], opts: { publishes?: Topic[] } = {}): TaskDefinition {
  return Object.freeze({ kind: 'task', run, publishes: opts.publishes ?? [] });
}

/** Fastify request typing re-exported for route files. */
export type { FastifyInstance, FastifyRequest };
