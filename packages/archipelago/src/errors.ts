// The registry of every user-facing error: one code, one message template, one exit or HTTP status.
// A test checks that each code here has a row in the README's error table.

/**
 * Every code with its message and its status: the HTTP status the control socket and the console
 * answer with (400 bad input, 401/403 refused, 404 unknown, 409 conflicting state, 422 out of range,
 * 500 failed, 503 unavailable, 504 too slow). The CLI exits 1 on any of them.
 */
export const ERRORS = {
  ARCH_E_CONFIG_INVALID: { message: 'the service declaration is invalid', status: 400 },
  ARCH_E_CONFIG_NOT_FOUND: { message: 'no archipelago.config.ts was found', status: 404 },
  ARCH_E_CONFIG_LOAD: { message: 'the service declaration could not be loaded', status: 400 },
  ARCH_E_UNKNOWN_KIND: { message: 'unknown unit kind', status: 400 },
  ARCH_E_UNKNOWN_FIELD: { message: 'unknown field in a unit', status: 400 },
  ARCH_E_DUPLICATE_UNIT: { message: 'two units share a name', status: 409 },
  ARCH_E_DUPLICATE_PORT: { message: 'two units share a port', status: 400 },
  ARCH_E_INVALID_NAME: { message: 'a name is not a DNS-1123 label', status: 400 },
  ARCH_E_INVALID_QUANTITY: { message: 'a resource quantity is malformed', status: 400 },
  ARCH_E_INVALID_DURATION: { message: 'a duration is malformed', status: 400 },
  ARCH_E_REPLICAS_RANGE: { message: 'replicas.min must be at most replicas.max', status: 400 },
  ARCH_E_INVALID_CRON: { message: 'a cron schedule is malformed', status: 400 },
  ARCH_E_INVALID_TIMEZONE: { message: 'a time zone is unknown', status: 400 },
  ARCH_E_ENTRY_NOT_FOUND: { message: 'a unit entry file does not exist', status: 400 },
  ARCH_E_SCALE_TARGET: { message: 'a scale target does not fit the unit kind', status: 400 },
  ARCH_E_INVALID_VALUE: { message: 'a field has a value of the wrong type or range', status: 400 },
  ARCH_E_MISSING_FIELD: { message: 'a required field is missing', status: 400 },
  ARCH_E_UNKNOWN_UNIT: { message: 'no unit of that name', status: 404 },
  ARCH_E_ENTRY_EXPORT: { message: 'a unit entry file exports the wrong thing', status: 400 },
  ARCH_E_USAGE: { message: 'the command was used wrongly', status: 400 },
  ARCH_E_SUPERVISOR_UNREACHABLE: { message: 'no supervisor is running for this service', status: 503 },
  ARCH_E_DEPLOY_JOB_FAILED: { message: 'a deploy job failed, so the service was not started', status: 409 },
  ARCH_E_DATABASE: { message: 'the database could not be reached or started', status: 503 },
  ARCH_E_POOL_TIMEOUT: { message: 'no database connection became free within the pool\'s acquire timeout', status: 503 },
  ARCH_E_MIGRATION_FAILED: { message: 'a migration failed and was rolled back', status: 500 },
  ARCH_E_SCHEMA: { message: 'a message does not match its topic schema', status: 400 },
  ARCH_E_SUBSCRIPTION_DUPLICATE: { message: 'a subscription name is used twice', status: 400 },
  ARCH_E_SUBSCRIPTION_UNKNOWN: { message: 'no subscription of that name', status: 404 },
  ARCH_E_BROKER: { message: 'the broker failed', status: 500 },
  ARCH_E_BROKER_UNAVAILABLE: { message: 'the broker cannot be reached', status: 503 },
  ARCH_E_DEADLINE: { message: 'a handler ran past its deadline', status: 504 },
  ARCH_E_HANDLER_OVERRUN: { message: 'a handler kept running past its deadline, so its replica exits to be restarted', status: 504 },
  ARCH_E_DRAIN_TIMEOUT: { message: 'work was cut because the grace period ran out', status: 500 },
  ARCH_E_CDC_NOT_LOGICAL: { message: 'the database is not set up for logical replication', status: 500 },
  ARCH_E_CDC_SLOT: { message: 'the replication slot could not be used', status: 500 },
  ARCH_E_SYNTH_INVALID: { message: 'a synthesised object fails its schema', status: 500 },
  ARCH_E_SCALE_RANGE: { message: 'a manual scale is outside replicas.min..max', status: 422 },
  ARCH_E_INIT_EXISTS: { message: 'the target folder already holds a service', status: 409 },
  ARCH_E_SUPERVISOR_RUNNING: { message: 'a supervisor already runs for this service', status: 409 },
  ARCH_E_SECRET_MISSING: { message: 'a unit declares a required secret that is not set', status: 500 },
  ARCH_E_CONSOLE_TOKEN: { message: 'a console action came without the per-run token', status: 401 },
  ARCH_E_CONSOLE_ORIGIN: { message: 'a console request came from another origin or host', status: 403 },
  ARCH_E_CONSOLE_PORT: { message: 'the console port is in use', status: 409 },
  ARCH_E_TYPESCRIPT: { message: 'a TypeScript file cannot be loaded because tsx is not installed', status: 500 },
  ARCH_E_PEER_MISSING: { message: 'an optional peer dependency is not installed', status: 500 },
} as const satisfies Record<string, { readonly message: string; readonly status: number }>;

export type ErrorCode = keyof typeof ERRORS;

/** Code → message, as `ARCH_E_…` → text (the registry without its statuses). */
export const codes: { readonly [C in ErrorCode]: (typeof ERRORS)[C]['message'] } = Object.freeze(
  Object.fromEntries(Object.entries(ERRORS).map(([c, e]) => [c, e.message])) as { [C in ErrorCode]: (typeof ERRORS)[C]['message'] });

/** The HTTP status an error of `code` is answered with. */
export const httpStatus = (code: ErrorCode): number => ERRORS[code].status;


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
