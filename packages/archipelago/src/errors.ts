// The registry of every user-facing error: one code, one message template, one exit or HTTP status.
// A test checks that each code here has a row in the README's error table.

export const codes = {
  ARCH_E_CONFIG_INVALID: 'the service declaration is invalid',
  ARCH_E_CONFIG_NOT_FOUND: 'no archipelago.config.ts was found',
  ARCH_E_CONFIG_LOAD: 'the service declaration could not be loaded',
  ARCH_E_UNKNOWN_KIND: 'unknown unit kind',
  ARCH_E_UNKNOWN_FIELD: 'unknown field in a unit',
  ARCH_E_DUPLICATE_UNIT: 'two units share a name',
  ARCH_E_DUPLICATE_PORT: 'two units share a port',
  ARCH_E_INVALID_NAME: 'a name is not a DNS-1123 label',
  ARCH_E_INVALID_QUANTITY: 'a resource quantity is malformed',
  ARCH_E_INVALID_DURATION: 'a duration is malformed',
  ARCH_E_REPLICAS_RANGE: 'replicas.min must be at most replicas.max',
  ARCH_E_INVALID_CRON: 'a cron schedule is malformed',
  ARCH_E_INVALID_TIMEZONE: 'a time zone is unknown',
  ARCH_E_ENTRY_NOT_FOUND: 'a unit entry file does not exist',
  ARCH_E_SCALE_TARGET: 'a scale target does not fit the unit kind',
  ARCH_E_INVALID_VALUE: 'a field has a value of the wrong type or range',
  ARCH_E_MISSING_FIELD: 'a required field is missing',
  ARCH_E_UNKNOWN_UNIT: 'no unit of that name',
  ARCH_E_ENTRY_EXPORT: 'a unit entry file exports the wrong thing',
  ARCH_E_USAGE: 'the command was used wrongly',
  ARCH_E_SUPERVISOR_UNREACHABLE: 'no supervisor is running for this service',
  ARCH_E_DEPLOY_JOB_FAILED: 'a deploy job failed, so the service was not started',
  ARCH_E_DATABASE: 'the database could not be reached or started',
  ARCH_E_POOL_TIMEOUT: 'no database connection became free within the pool\'s acquire timeout',
  ARCH_E_MIGRATION_FAILED: 'a migration failed and was rolled back',
  ARCH_E_SCHEMA: 'a message does not match its topic schema',
  ARCH_E_TOPIC_UNKNOWN: 'a topic is not declared',
  ARCH_E_SUBSCRIPTION_DUPLICATE: 'a subscription name is used twice',
  ARCH_E_SUBSCRIPTION_UNKNOWN: 'no subscription of that name',
  ARCH_E_BROKER: 'the broker failed',
  ARCH_E_BROKER_UNAVAILABLE: 'the broker cannot be reached',
  ARCH_E_DEADLINE: 'a handler ran past its deadline',
  ARCH_E_HANDLER_OVERRUN: 'a handler kept running past its deadline, so its replica exits to be restarted',
  ARCH_E_DRAIN_TIMEOUT: 'work was cut because the grace period ran out',
  ARCH_E_CDC_NOT_LOGICAL: 'the database is not set up for logical replication',
  ARCH_E_CDC_SLOT: 'the replication slot could not be used',
  ARCH_E_SYNTH_INVALID: 'a synthesised object fails its schema',
  ARCH_E_SCALE_RANGE: 'a manual scale is outside replicas.min..max',
  ARCH_E_INIT_EXISTS: 'the target folder already holds a service',
  ARCH_E_SUPERVISOR_RUNNING: 'a supervisor already runs for this service',
  ARCH_E_SECRET_MISSING: 'a unit declares a required secret that is not set',
  ARCH_E_CONSOLE_TOKEN: 'a console action came without the per-run token',
  ARCH_E_CONSOLE_ORIGIN: 'a console request came from another origin or host',
  ARCH_E_CONSOLE_PORT: 'the console port is in use',
  ARCH_E_TYPESCRIPT: 'a TypeScript file cannot be loaded because tsx is not installed',
  ARCH_E_PEER_MISSING: 'an optional peer dependency is not installed',
} as const;

export type ErrorCode = keyof typeof codes;

/** An error a user can fix. Internal bugs stay plain `Error`s. */
export class ArchipelagoError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[];
  constructor(code: ErrorCode, message?: string, details: readonly string[] = []) {
    super(message ?? codes[code]);
    this.name = 'ArchipelagoError';
    this.code = code;
    this.details = details;
  }
}

export function isArchipelagoError(e: unknown): e is ArchipelagoError {
  return e instanceof ArchipelagoError;
}
