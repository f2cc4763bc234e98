// Archipelago's public API: what a service's code and config import. Everything else is internal;
// test/package/public-api.test.ts lists these exports and fails on an unplanned addition.
export type * from './service/types.js';
export { defineService, defineUnit } from './service/define-service.js';
export { validateService, resolveService, type ValidateOptions, type ValidationResult } from './service/validate.js';
export { loadService, unitByName, type LoadedService } from './service/load.js';
export { parseDuration } from './service/quantity.js';
export { ArchipelagoError, codes, isArchipelagoError, type ErrorCode } from './errors.js';
export { topic, type Topic, type MessageOf } from './messaging/topic.js';
export type { Delivery, SubscribeOptions, PublishOptions, Backoff } from './messaging/contract.js';
export {
  api, worker, realtime, task, subscribe, broadcast,
  type UnitContext, type TaskContext, type Handler, type Connection, type RealtimeHub, type UnitDefinition,
  type ApiDefinition, type WorkerDefinition, type RealtimeDefinition, type TaskDefinition,
  type SubscriptionDefinition, type BroadcastDefinition,
} from './units/define.js';
export { SINGLE_LINE, ALLOW_NUL } from './units/validation.js';
export { createPool, transaction, migrate, advisoryLockKey, type Queryable } from './database/index.js';
export { changeTopic, type RowChange, type ChangeOp } from './cdc/change-topics.js';
