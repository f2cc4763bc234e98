// Archipelago's public API.
export * from './service/index.js';
export { ArchipelagoError, codes, isArchipelagoError, type ErrorCode } from './errors.js';
export { topic, type Topic, type MessageOf } from './messaging/topic.js';
export type { Delivery, SubscribeOptions, PublishOptions, Backoff } from './messaging/types.js';
export {
  api, worker, realtime, task, subscribe, broadcast,
  type UnitContext, type TaskContext, type Handler, type Connection, type RealtimeHub, type UnitDefinition,
  type ApiDefinition, type WorkerDefinition, type RealtimeDefinition, type TaskDefinition,
  type SubscriptionDefinition, type BroadcastDefinition,
} from './units/define.js';
export { SINGLE_LINE, ALLOW_NUL } from './units/validation.js';
export { createPool, transaction, migrate, advisoryLockKey, type Queryable } from './database/index.js';
export { changeTopic, type RowChange, type ChangeOp } from './cdc/topics.js';
